"""The models of the governance app.

Django reads an app's models from this one module, so every model of the app is named
here; each is defined with its feature: the registry (workflows, entitlements, policies)
in `registry`, access reviews in `governance.reviews.models`, evidence in
`governance.evidence.models`, findings in `governance.findings.models`.
"""

from governance.evidence.models import EvidenceChainHead, EvidenceIntake, EvidenceRecord
from governance.findings.models import Finding
from governance.reviews.models import ReminderDigest, ReminderLog, ReviewCampaign, ReviewItem

from .registry import Entitlement, Heartbeat, Policy, Workflow

__all__ = [
    "Entitlement",
    "EvidenceChainHead",
    "EvidenceIntake",
    "EvidenceRecord",
    "Finding",
    "Heartbeat",
    "Policy",
    "ReminderDigest",
    "ReminderLog",
    "ReviewCampaign",
    "ReviewItem",
    "Workflow",
]
