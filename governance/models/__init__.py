"""The models of the governance app.

Django reads an app's models from this one module, so every model of the app is named
here; each is defined with its feature: the registry (workflows, entitlements, policies)
in `registry`, access reviews in `governance.reviews.models`, evidence in
`governance.evidence.models`, findings in `governance.findings.models`, outbound webhooks in
`governance.outbound.models`, applied registry files in
`governance.registry_files.models`.
"""

from governance.changes.models import RegistryChange
from governance.evidence.models import (
    EvidenceBatch,
    EvidenceChainHead,
    EvidenceCheckpoint,
    EvidenceIntake,
    EvidenceRecord,
    EvidenceStreamPosition,
)
from governance.findings.models import Finding
from governance.outbound.models import WebhookDelivery, WebhookSubscription
from governance.registry_files.models import RegistryApplication
from governance.reviews.models import ReminderDigest, ReminderLog, ReviewCampaign, ReviewItem

from .registry import Entitlement, Heartbeat, Policy, Workflow

__all__ = [
    "Entitlement",
    "EvidenceBatch",
    "EvidenceChainHead",
    "EvidenceCheckpoint",
    "EvidenceIntake",
    "EvidenceRecord",
    "EvidenceStreamPosition",
    "Finding",
    "Heartbeat",
    "Policy",
    "RegistryApplication",
    "RegistryChange",
    "ReminderDigest",
    "ReminderLog",
    "ReviewCampaign",
    "ReviewItem",
    "WebhookDelivery",
    "WebhookSubscription",
    "Workflow",
]
