"""Evidence of sign-in locks on a person's account (`identities.signals`), in their transaction.

A lock is recorded in the chain of every workflow the person owns or backs up: while it
holds, that person approves and certifies nothing there, so the workflow's own trail says
why. Heads are locked in workflow order, as every writer of several chains does.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.dispatch import receiver

from governance.choices import EvidenceKind, EvidenceOutcome
from governance.models.registry import Workflow
from identities import signals

from .services import record_evidence


def _owned_workflows(user):
    return (
        Workflow.objects.filter(Q(control_owner=user) | Q(backup_owner=user))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _record(username, outcome, describe, payload, actor=None):
    user = get_user_model().objects.filter(username__iexact=username).first()
    if user is None:
        return  # a name nobody has: the change log holds the throttle row
    for workflow_id in _owned_workflows(user):
        record_evidence(
            workflow=workflow_id,
            kind=EvidenceKind.ACCOUNT,
            outcome=outcome,
            actor=actor.pk if actor is not None else user.pk,
            summary=describe(user),
            payload=payload,
        )


@receiver(signals.sign_in_locked, dispatch_uid="evidence.sign_in_locked")
def on_sign_in_locked(sender, username, failures, until=None, **kwargs):
    lasts = f"until {until:%Y-%m-%d %H:%M} UTC" if until else "until an administrator lifts it"
    _record(
        username,
        EvidenceOutcome.LOCKED,
        lambda person: f"Sign-in of {person} locked after {failures} failed attempts, {lasts}",
        {"username": username, "failures": failures, "until": until.isoformat() if until else None},
    )


@receiver(signals.sign_in_unlocked, dispatch_uid="evidence.sign_in_unlocked")
def on_sign_in_unlocked(sender, username, by=None, **kwargs):
    lifted_by = f"by {by}" if by is not None else "by an operator"
    _record(
        username,
        EvidenceOutcome.UNLOCKED,
        lambda person: f"Sign-in lock of {person} lifted {lifted_by}",
        {"username": username, "by": getattr(by, "pk", None)},
        actor=by,
    )
