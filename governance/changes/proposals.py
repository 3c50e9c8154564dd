"""Recording a registry change that waits for a second person.

The registry services (`governance.services`) split every write into what narrows
access (applied at once) and what widens it (`widening`); the widening part becomes a
`RegistryChange` here. Proposing the same change twice returns the first one, so a
retried request never files a second change.
"""

from django.db import models

from governance.choices import ChangeKind, ChangeState
from governance.exceptions import NotAllowed
from governance.roles import decision_refusal

from .models import RegistryChange
from .signals import registry_change_proposed


def as_json(value):
    """A model value as plain JSON: objects by primary key."""
    if isinstance(value, models.Model):
        return value.pk
    return value


def propose(kind, *, by, changes, before, reasons, summary, workflow=None, entitlement=None, policy=None):
    """File a change for a second person to decide; return it (the pending twin if any)."""
    refusal = decision_refusal(by)
    if refusal:
        raise NotAllowed(refusal.replace("approve, certify or decide", "change the registry"))
    changes = {name: as_json(value) for name, value in sorted(changes.items())}
    before = {name: as_json(value) for name, value in sorted(before.items())}
    twin = RegistryChange.objects.filter(
        kind=kind,
        state=ChangeState.PENDING,
        workflow=workflow,
        entitlement=entitlement,
        policy=policy,
        author=by,
        changes=changes,
    ).first()
    if twin is not None:
        return twin
    change = RegistryChange.objects.create(
        kind=kind,
        workflow=workflow,
        entitlement=entitlement,
        policy=policy,
        changes=changes,
        before=before,
        reasons=list(reasons),
        summary=summary[:400],
        author=by,
    )
    registry_change_proposed.send(sender=RegistryChange, change=change)
    return change


def workflow_kind(fields):
    if "status" in fields:
        return ChangeKind.ACTIVATE_WORKFLOW
    if {"control_owner", "backup_owner"} & set(fields):
        return ChangeKind.NAME_OWNERS
    return ChangeKind.WIDEN_WORKFLOW
