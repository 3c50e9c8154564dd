"""Evidence of sign-in locks on a person's account and of refused keys that name a real
key (`identities.signals`), in their transaction.

A lock is recorded in the chain of every workflow the person owns or backs up: while it
holds, that person approves and certifies nothing there, so the workflow's own trail says
why. A refused workload key (revoked, expired, or its prefix with a wrong secret) is
recorded in its workload's workflow chain, a person's token in the chains of the workflows
they own or back up: someone holds, or guesses at, a credential of theirs. Heads are
locked in workflow order, as every writer of several chains does.
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


REFUSALS = {
    "revoked": "revoked key {prefix}… refused",
    "expired": "expired key {prefix}… refused",
    "holder_deactivated": "key {prefix}… of a deactivated person refused",
    "wrong_secret": "a wrong secret with the prefix of key {prefix}… refused",
}


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


@receiver(signals.api_key_refused, dispatch_uid="evidence.api_key_refused")
def on_api_key_refused(sender, key, reason, address, surface, **kwargs):
    payload = {"key": key.prefix, "holder": str(key.workload or key.user), "reason": reason, "address": address}
    payload["surface"] = surface
    words = f"{REFUSALS.get(reason, reason + ' key {prefix}…').format(prefix=key.prefix)} from {address}"
    if key.workload_id is not None:
        workload = key.workload
        record_evidence(
            workflow=workload.workflow_id,
            kind=EvidenceKind.ACCOUNT,
            outcome=EvidenceOutcome.DENIED,
            workload=workload.pk,
            summary=f"API key of {workload}: {words}",
            payload=payload,
        )
        return
    for workflow_id in _owned_workflows(key.user):
        record_evidence(
            workflow=workflow_id,
            kind=EvidenceKind.ACCOUNT,
            outcome=EvidenceOutcome.DENIED,
            summary=f"Personal access token of {key.user}: {words}",
            payload=payload,
        )
