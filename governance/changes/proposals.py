"""Recording a registry change that waits for a second person.

The registry services (`governance.services`) split every write into what narrows
access (applied at once) and what widens it (`widening`); the widening part becomes a
`RegistryChange` here. Proposing a change that already waits returns the waiting one,
whoever proposes it, so a retried request or a re-applied file never files a second one.

One pending change per field of an object: a different change of a field that already
waits for a decision (or a second entitlement added to the same workflow) is refused
(409, naming the pending change) until that one is decided or withdrawn. Both applying
would make the second approval act on a starting point its decider never saw, or fail.
The services propose while holding the object's row lock, so two proposals are serialised.
"""

from django.db import models

from governance.choices import ChangeKind, ChangeState
from governance.exceptions import IllegalTransition, NotAllowed
from governance.roles import decision_refusal

from .models import RegistryChange
from .signals import registry_change_proposed
from .widening import OWNER_FIELDS


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
        changes=changes,
    ).first()
    if twin is not None:
        return twin
    refuse_overlap(kind, changes, workflow=workflow, entitlement=entitlement, policy=policy)
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


WORKFLOW_KINDS = (ChangeKind.ACTIVATE_WORKFLOW, ChangeKind.NAME_OWNERS, ChangeKind.WIDEN_WORKFLOW)


def _fields(kind, changes):
    """What a change sets: adding a policy sets its entitlement on the workflow; approving an
    activation approves the owners the workflow has, so it holds them too."""
    if kind == ChangeKind.ADD_POLICY:
        return {"entitlement"}
    return {*changes, *OWNER_FIELDS} if kind == ChangeKind.ACTIVATE_WORKFLOW else set(changes)


def pending_on_same_object(kind, *, workflow=None, entitlement=None, policy=None):
    """Pending changes of the object a change of `kind` would change."""
    pending = RegistryChange.objects.filter(state=ChangeState.PENDING).order_by("pk")
    if kind == ChangeKind.ADD_POLICY:
        return pending.filter(kind=kind, workflow=workflow, entitlement=entitlement)
    if kind == ChangeKind.WIDEN_POLICY:
        return pending.filter(kind=kind, policy=policy)
    if kind == ChangeKind.CHANGE_ENTITLEMENT:
        return pending.filter(kind=kind, entitlement=entitlement)
    return pending.filter(kind__in=WORKFLOW_KINDS, workflow=workflow)


def refuse_overlap(kind, changes, *, workflow=None, entitlement=None, policy=None):
    """Refuse (409, naming it) a change of a field a pending change of the same object sets."""
    fields = _fields(kind, changes)
    for other in pending_on_same_object(kind, workflow=workflow, entitlement=entitlement, policy=policy):
        shared = sorted(fields & _fields(other.kind, other.changes))
        if shared:
            raise IllegalTransition(
                f"Change #{other.pk} ({other.summary}) already waits for a decision on {', '.join(shared)}; "
                "it must be approved, denied or withdrawn before another change of it is filed.",
                field_errors={name: [f"Waits for a decision in change #{other.pk}."] for name in shared},
                code="change_pending",
            )


def workflow_kind(fields):
    if "status" in fields:
        return ChangeKind.ACTIVATE_WORKFLOW
    if {"control_owner", "backup_owner"} & set(fields):
        return ChangeKind.NAME_OWNERS
    return ChangeKind.WIDEN_WORKFLOW
