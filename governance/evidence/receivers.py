"""Evidence for the approval services' domain events, written in their transaction.

Each receiver turns one event (see `approvals/signals.py` and `governance/reviews/signals.py` for
the arguments) into one evidence record. They run inside the service's transaction, so the record commits or
rolls back with the state change; an error here fails the change rather than leaving it
unrecorded.
"""

import logging

from django.conf import settings
from django.db import connection
from django.dispatch import receiver

from approvals import signals
from approvals.policy import reasons_text
from governance.changes.signals import registry_change_decided, registry_change_proposed
from governance.choices import EvidenceKind, EvidenceOutcome
from governance.models import Policy
from governance.reviews.signals import review_item_decided
from governance.verify_export import canonical_json, sha256_hex
from identities.models import WorkloadIdentity

from .intake import record_decision, record_grants_ended
from .services import append_events, record_evidence, record_evidence_in_each

logger = logging.getLogger(__name__)

_DECISION_OUTCOME = {"approve": EvidenceOutcome.APPROVED, "deny": EvidenceOutcome.DENIED}
_CLOSED_OUTCOME = {"cancelled": EvidenceOutcome.CANCELLED, "timed_out": EvidenceOutcome.TIMED_OUT}


def _ts(value):
    return value.strftime("%Y-%m-%d %H:%M:%S %Z") if value else "—"


def _request_context(request):
    return {
        "workflow": request.workflow_id,
        "access_request": request.pk,
        "workload": request.workload_id,
        "on_behalf_of": request.on_behalf_of_id,
        "task_ref": request.task_ref,
        "target_resource": request.entitlement.scope,
    }


def _grant_context(grant):
    return {
        "workflow": grant.workflow_id,
        "grant": grant.pk,
        "access_request": grant.request_id,
        "workload": grant.workload_id,
        "on_behalf_of": grant.on_behalf_of_id,
        "task_ref": grant.task_ref,
        "target_resource": grant.entitlement.scope,
    }


@receiver(signals.request_submitted, dispatch_uid="evidence.request_submitted")
def on_request_submitted(sender, request, **kwargs):
    extends = f", extending grant #{request.extends_id}" if request.extends_id else ""
    record_evidence(
        kind=EvidenceKind.REQUEST,
        outcome=EvidenceOutcome.SUBMITTED,
        actor=request.requested_by_id,
        summary=(
            f"Request #{request.pk} for “{request.entitlement.scope}” for {request.duration_seconds} s{extends}: "
            f"{request.justification}"
        ),
        payload={
            "request": request.pk,
            "scope": request.entitlement.scope,
            "duration_seconds": request.duration_seconds,
            "justification": request.justification,
            "state": request.state,
            "effect": request.effect,
            "reasons": request.decision_reasons,
            "policy": request.policy_snapshot,
        },
        **_request_context(request),
    )


@receiver(signals.request_decided, dispatch_uid="evidence.request_decided")
def on_request_decided(sender, request, approval=None, final=True, **kwargs):
    if approval is None:
        # The policy decided at submission (auto-approve or deny), with its reasons.
        outcome = EvidenceOutcome.APPROVED if request.state == "approved" else EvidenceOutcome.DENIED
        summary = f"Policy {outcome.label.lower()} request #{request.pk}: " + reasons_text(request.decision_reasons)
        actor, channel, comment = None, "policy", ""
    else:
        outcome = _DECISION_OUTCOME.get(approval.decision, EvidenceOutcome.DENIED)
        progress = "" if final else f" ({request.approvals.count()} of {request.required_approvals} approvals)"
        summary = f"{approval.approver} {outcome.label.lower()} request #{request.pk} via {approval.channel}{progress}"
        if approval.comment:
            summary += f": {approval.comment}"
        actor, channel, comment = approval.approver_id, approval.channel, approval.comment
    record_evidence(
        kind=EvidenceKind.APPROVAL,
        outcome=outcome,
        actor=actor,
        summary=summary,
        payload={"request": request.pk, "decision": outcome, "channel": channel, "comment": comment, "final": final},
        **_request_context(request),
    )


@receiver(signals.request_closed, dispatch_uid="evidence.request_closed")
def on_request_closed(sender, request, reason="", **kwargs):
    outcome = _CLOSED_OUTCOME.get(request.state)
    if outcome is None:
        return  # a denial is already recorded by its decision
    record_evidence(
        kind=EvidenceKind.REQUEST,
        outcome=outcome,
        summary=f"Request #{request.pk} {outcome.label.lower()}: {reason}",
        payload={"request": request.pk, "state": request.state, "reason": reason},
        **_request_context(request),
    )


@receiver(signals.grant_issued, dispatch_uid="evidence.grant_issued")
def on_grant_issued(sender, grant, **kwargs):
    record_evidence(
        kind=EvidenceKind.GRANT,
        outcome=EvidenceOutcome.ISSUED,
        actor=grant.requested_by_id,
        summary=(
            f"Grant #{grant.pk} of “{grant.entitlement.scope}” from {_ts(grant.starts_at)} to {_ts(grant.expires_at)}"
        ),
        payload={
            "grant": grant.pk,
            "starts_at": grant.starts_at.isoformat(),
            "expires_at": grant.expires_at.isoformat(),
            "token_id": grant.token_id,
        },
        **_grant_context(grant),
    )


@receiver(signals.grant_extended, dispatch_uid="evidence.grant_extended")
def on_grant_extended(sender, grant, previous_expires_at=None, request=None, **kwargs):
    record_evidence(
        kind=EvidenceKind.GRANT,
        outcome=EvidenceOutcome.EXTENDED,
        summary=f"Grant #{grant.pk} extended from {_ts(previous_expires_at)} to {_ts(grant.expires_at)}",
        payload={
            "grant": grant.pk,
            "previous_expires_at": previous_expires_at.isoformat() if previous_expires_at else None,
            "expires_at": grant.expires_at.isoformat(),
            "extension_request": getattr(request, "pk", None),
        },
        **{**_grant_context(grant), "access_request": getattr(request, "pk", grant.request_id)},
    )


@receiver(signals.grant_ended, dispatch_uid="evidence.grant_ended")
def on_grant_ended(sender, grant, reason="", **kwargs):
    outcome = EvidenceOutcome.REVOKED if grant.status == "revoked" else EvidenceOutcome.EXPIRED
    record_evidence(
        kind=EvidenceKind.GRANT,
        outcome=outcome,
        actor=grant.revoked_by_id,
        summary=f"Grant #{grant.pk} {outcome.label.lower()}: {reason}",
        payload={"grant": grant.pk, "status": grant.status, "reason": reason},
        **_grant_context(grant),
    )


@receiver(signals.grants_expired, dispatch_uid="evidence.grants_expired")
def on_grants_expired(sender, grants, now=None, recorded=False, **kwargs):
    """The sweeper's batch: the same record `on_grant_ended` writes, for every grant, in bulk.

    On PostgreSQL into the intake, built by the database in the statement that ended the
    batch (`recorded`: `intake.ended_grants_insert`) or else here (`record_grants_ended`),
    committed with the batch and chained by the sequencer; elsewhere chained here.
    """
    if recorded:
        return
    if connection.vendor == "postgresql":
        record_grants_ended(grants, now=now)
        return
    by_workflow = {}
    for grant in grants:
        encoded = canonical_json({"grant": grant.pk, "status": grant.status, "reason": grant.reason})
        by_workflow.setdefault(grant.workflow_id, []).append(
            {
                "kind": EvidenceKind.GRANT,
                "outcome": EvidenceOutcome.EXPIRED,
                "occurred_at": now,
                "grant_id": grant.pk,
                "access_request_id": grant.request_id,
                "workload_id": grant.workload_id,
                "on_behalf_of_id": grant.on_behalf_of_id,
                "actor_id": None,
                "task_ref": grant.task_ref,
                "target_resource": grant.scope,
                "ticket_ref": "",
                "tool_name": "",
                "data_classification": "",
                "summary": f"Grant #{grant.pk} expired: {grant.reason}",
                "payload_sha256": sha256_hex(encoded),
                "raw_payload": encoded.decode("utf-8") if settings.EVIDENCE_STORE_RAW_PAYLOADS else None,
            }
        )
    append_events(by_workflow)


@receiver(signals.authorization_checked, dispatch_uid="evidence.authorization_checked")
def on_authorization_checked(
    sender, result, subject, workflow, scope, task_ref="", resource="", action="", recorded=False, **kwargs
):
    if recorded:
        return  # the check's own statement recorded it (`governance.evidence.decisions`)
    workflow_id = getattr(result, "workflow_id", None) or getattr(workflow, "pk", None)
    if workflow_id is None:
        # Nothing to chain to: the answer (unknown workflow) is in the caller's response.
        logger.info("authorization check for unknown workflow %r not recorded", workflow)
        return
    is_workload = isinstance(subject, WorkloadIdentity)
    # Into the intake, not the chain: deciding never waits for the workflow's chain head.
    # The INSERT is committed before the answer goes out (the view runs in autocommit).
    record_decision(
        workflow=workflow_id,
        kind=EvidenceKind.AUTHORIZATION,
        outcome=EvidenceOutcome.ALLOWED if result.allow else EvidenceOutcome.DENIED,
        workload=subject.pk if is_workload else None,
        actor=None if is_workload else subject.pk,
        on_behalf_of=getattr(result, "on_behalf_of_id", None) if is_workload else None,
        grant=result.grant_id,
        task_ref=task_ref or "",
        # What the call is about to touch and do when the caller says so; else the scope.
        target_resource=resource or scope,
        tool_name=action or "",
        summary=f"“{scope}”: " + reasons_text(result.reasons),
        payload={
            "scope": scope,
            "task_ref": task_ref or "",
            "resource": resource or "",
            "action": action or "",
            "allow": result.allow,
            "reasons": list(result.reasons),
            "grant": result.grant_id,
            "expires_at": result.expires_at.isoformat() if result.expires_at else None,
        },
    )


@receiver(signals.workload_suspended, dispatch_uid="evidence.workload_suspended")
def on_workload_suspended(sender, workload, reason="", by=None, **kwargs):
    record_evidence(
        workflow=workload.workflow_id,
        kind=EvidenceKind.WORKLOAD,
        outcome=EvidenceOutcome.SUSPENDED,
        workload=workload.pk,
        actor=getattr(by, "pk", None),
        summary=f"Workload “{workload}” suspended: {reason}",
        payload={"workload": workload.pk, "reason": reason},
    )


@receiver(review_item_decided, dispatch_uid="evidence.review_item_decided")
def on_review_item_decided(sender, campaign, item, by=None, **kwargs):
    outcome = item.outcome if item.outcome in EvidenceOutcome.values else ""
    who = str(by) if by is not None else "Mandate"
    comment = f": {item.comment}" if item.comment else ""
    record_evidence(
        workflow=campaign.workflow_id,
        kind=EvidenceKind.REVIEW,
        outcome=outcome,
        actor=getattr(by, "pk", None),
        grant=item.grant_id,
        workload=item.workload_id,
        on_behalf_of=item.grant.on_behalf_of_id if item.grant_id else None,
        summary=f"{who} {item.get_outcome_display().lower()} “{item.label}” in review #{campaign.pk}{comment}",
        payload={"campaign": campaign.pk, "item": item.pk, "kind": item.kind, "outcome": item.outcome},
    )


@receiver(registry_change_proposed, dispatch_uid="evidence.registry_change_proposed")
@receiver(registry_change_decided, dispatch_uid="evidence.registry_change_decided")
def on_registry_change(sender, change, **kwargs):
    """A widening registry change, proposed, then decided by another person: evidence in the
    chain of its workflow, or, for a change of an entitlement alone (its resource owner, its
    maximum lifetime, its access level), in the chain of every workflow that holds the
    entitlement (has a policy for it), since each of them is what the change widens."""
    outcome = {"pending": EvidenceOutcome.SUBMITTED, "approved": EvidenceOutcome.APPROVED}.get(
        change.state, EvidenceOutcome.DENIED if change.state == "denied" else EvidenceOutcome.CANCELLED
    )
    actor = change.decided_by_id if change.decided_at else change.author_id
    fields = {
        "kind": EvidenceKind.REGISTRY_CHANGE,
        "outcome": outcome,
        "actor": actor or change.author_id,
        "target_resource": change.entitlement.scope if change.entitlement_id else "",
        "summary": f"Registry change #{change.pk} {change.get_state_display().lower()}: {change.summary}",
    }
    if change.workflow_id:
        record_evidence(workflow=change.workflow_id, **fields)
        return
    if not change.entitlement_id:
        return
    holders = Policy.objects.filter(entitlement_id=change.entitlement_id).values_list("workflow_id", flat=True)
    # No workflow holds it yet (a new entitlement's resource owner): the change log has it.
    record_evidence_in_each(
        holders,
        payload={"registry_change": change.pk, "entitlement": change.entitlement_id, "state": change.state},
        **fields,
    )
