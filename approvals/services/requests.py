"""Submitting access requests: a new request, or the extension of a grant, through the policy.

Every function runs in a transaction, locks the row it changes, re-checks its state and
raises a domain error on an illegal move. Domain signals are sent inside the transaction
(receivers write evidence and outbox rows atomically with the change); Celery work is
scheduled on commit.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.choices import CampaignStatus, ReviewItemKind, ReviewOutcome
from governance.exceptions import IllegalTransition, InvalidInput
from governance.models import Policy, ReviewCampaign, Workflow
from governance.roles import decision_refusal
from identities.models import WorkloadIdentity

from .. import signals
from ..choices import GrantStatus, PolicyEffect, RequestState
from ..models import AccessRequest, Grant
from ..policy import Person, RequestContext, evaluate, reasons_text
from .grants import issue_grant

# A request may be filed ahead of its start, but not further ahead than this.
MAX_START_AHEAD = timedelta(days=366)


def _person(user):
    if user is None:
        return None
    return Person(id=user.pk, label=str(user), is_active=user.is_active, may_decide=decision_refusal(user) is None)


def missed_review_hold(workflow, entitlement):
    """The open access review whose missed deadline revoked `entitlement` in `workflow`,
    named for a reason, or None. It holds until the review is completed."""
    campaign = (
        ReviewCampaign.objects.filter(
            workflow=workflow,
            status=CampaignStatus.OPEN,
            deadline_missed_at__isnull=False,
            items__kind=ReviewItemKind.GRANT,
            items__outcome=ReviewOutcome.REVOKED,
            items__decided_by__isnull=True,
            items__grant__entitlement=entitlement,
        )
        .order_by("pk")
        .first()
    )
    if campaign is None:
        return None
    return f"the access review of “{workflow}” (#{campaign.pk}, due {campaign.due_at:%Y-%m-%d})"


def build_context(
    *,
    workflow,
    entitlement,
    policy,
    duration_seconds,
    requested_by,
    workload,
    on_behalf_of,
    task_ref,
    justification,
    now,
):
    """Collect the facts `policy.evaluate` needs from the database, as plain values."""
    return RequestContext(
        now=now,
        workflow_name=workflow.name,
        workflow_status=workflow.status,
        risk_tier=workflow.risk_tier,
        control_owner=_person(workflow.control_owner),
        backup_owner=_person(workflow.backup_owner),
        review_due=workflow.next_review_due,
        review_grace_days=workflow.review_grace_days,
        scope=entitlement.scope,
        access_level=entitlement.access_level,
        entitlement_max_seconds=entitlement.max_lifetime_seconds,
        approval_mode=policy.approval_mode if policy else None,
        policy_max_seconds=policy.max_ttl_seconds if policy else None,
        task_ref_required=policy.task_ref_required if policy else False,
        justification_required=policy.justification_required if policy else False,
        duration_seconds=duration_seconds,
        task_ref=task_ref or "",
        justification=justification or "",
        requester=_person(requested_by),
        workload_label=str(workload) if workload else None,
        workload_status=workload.status if workload else None,
        workload_in_workflow=workload.workflow_id == workflow.pk if workload else True,
        workload_owner=_person(workload.owner) if workload else None,
        on_behalf_of=_person(on_behalf_of),
        missed_review=missed_review_hold(workflow, entitlement),
    )


def _policy_snapshot(policy):
    if policy is None:
        return {}
    return {
        "id": policy.pk,
        "approval_mode": policy.approval_mode,
        "max_ttl_seconds": policy.max_ttl_seconds,
        "pending_ttl_seconds": policy.pending_ttl_seconds,
        "reminder_interval_seconds": policy.reminder_interval_seconds,
        "task_ref_required": policy.task_ref_required,
        "justification_required": policy.justification_required,
    }


def _existing_for_key(requested_by, workload, idempotency_key):
    if not idempotency_key:
        return None
    subject = {"workload": workload} if workload else {"requested_by": requested_by}
    return AccessRequest.objects.filter(idempotency_key=idempotency_key, **subject).first()


def submit_request(
    *,
    workflow,
    entitlement,
    duration_seconds,
    requested_by=None,
    workload=None,
    on_behalf_of=None,
    task_ref="",
    justification="",
    starts_at=None,
    idempotency_key="",
    extends=None,
):
    """Record a request, evaluate policy, and act on the result.

    Auto-approved requests get their grant at once; requests that need approval wait as
    `pending` for the eligible approvers; denied requests are stored as `denied` with the
    reasons. With an `idempotency_key`, a retry returns the first request unchanged.
    """
    if (requested_by is None) == (workload is None):
        raise InvalidInput("A request has exactly one requester: a person or a workload.")
    if workload is not None and on_behalf_of is None:
        raise InvalidInput(
            "A workload must name the person it acts for.",
            field_errors={"on_behalf_of": ["This field is required for a workload."]},
        )
    if requested_by is not None:
        on_behalf_of = None
    if duration_seconds is None or int(duration_seconds) <= 0:
        raise InvalidInput(
            "The duration must be a positive number of seconds.",
            field_errors={"duration_seconds": ["Must be a positive number of seconds."]},
        )
    now = timezone.now()
    if starts_at is not None and starts_at < now - timedelta(minutes=5):
        raise InvalidInput("The start cannot be in the past.", field_errors={"starts_at": ["Must not be in the past."]})
    if starts_at is not None and starts_at > now + MAX_START_AHEAD:
        # Also keeps `starts_at + duration` a date Python and the database can hold (year 9999).
        raise InvalidInput(
            "The start is too far ahead.", field_errors={"starts_at": ["Must be within a year from now."]}
        )
    existing = _existing_for_key(requested_by, workload, idempotency_key)
    if existing is not None:
        return existing
    try:
        return _submit(
            workflow=workflow,
            entitlement=entitlement,
            duration_seconds=int(duration_seconds),
            requested_by=requested_by,
            workload=workload,
            on_behalf_of=on_behalf_of,
            task_ref=(task_ref or "").strip(),
            justification=(justification or "").strip(),
            starts_at=starts_at,
            idempotency_key=idempotency_key or "",
            extends=extends,
            now=now,
        )
    except IntegrityError:
        # Two retries with one idempotency key raced; the first one's row is the answer.
        existing = _existing_for_key(requested_by, workload, idempotency_key)
        if existing is None:
            raise
        return existing


@transaction.atomic
def _submit(
    *,
    workflow,
    entitlement,
    duration_seconds,
    requested_by,
    workload,
    on_behalf_of,
    task_ref,
    justification,
    starts_at,
    idempotency_key,
    extends,
    now,
):
    # Decide on the rows as they are now, and hold them until commit: a workflow being
    # suspended, or a workload hitting the kill switch, waits for this request to settle
    # and then ends its grant, instead of missing it.
    workflow = (
        Workflow.objects.select_for_update(no_key=True, of=("self",))
        .select_related("control_owner", "backup_owner")
        .get(pk=workflow.pk)
    )
    if workload is not None:
        workload = (
            WorkloadIdentity.objects.select_for_update(no_key=True, of=("self",))
            .select_related("owner")
            .get(pk=workload.pk)
        )
    policy = Policy.objects.filter(workflow=workflow, entitlement=entitlement).first()
    ctx = build_context(
        workflow=workflow,
        entitlement=entitlement,
        policy=policy,
        duration_seconds=duration_seconds,
        requested_by=requested_by,
        workload=workload,
        on_behalf_of=on_behalf_of,
        task_ref=task_ref,
        justification=justification,
        now=now,
    )
    evaluation = evaluate(ctx)
    if extends is not None and extends.status != "active":
        evaluation.effect = PolicyEffect.DENY
        evaluation.reasons = [f"Grant #{extends.pk} has already ended ({extends.status}); request access again."]
    state = {
        PolicyEffect.AUTO_APPROVE: RequestState.APPROVED,
        PolicyEffect.NEEDS_APPROVAL: RequestState.PENDING,
        PolicyEffect.DENY: RequestState.DENIED,
    }[evaluation.effect]
    pending_ttl = policy.pending_ttl_seconds if policy else 24 * 3600
    request = AccessRequest.objects.create(
        workflow=workflow,
        entitlement=entitlement,
        requested_by=requested_by,
        workload=workload,
        on_behalf_of=on_behalf_of,
        task_ref=task_ref,
        justification=justification,
        duration_seconds=duration_seconds,
        starts_at=starts_at,
        extends=extends,
        state=state,
        effect=evaluation.effect,
        approval_mode=evaluation.approval_mode,
        required_approvals=evaluation.required_approvals,
        decision_reasons=evaluation.reasons,
        eligible_approver_ids=evaluation.eligible_approver_ids,
        policy_snapshot=_policy_snapshot(policy),
        idempotency_key=idempotency_key,
        pending_until=now + timedelta(seconds=pending_ttl) if state == RequestState.PENDING else None,
        decided_at=None if state == RequestState.PENDING else now,
    )
    signals.request_submitted.send(sender=AccessRequest, request=request)
    if state == RequestState.APPROVED:
        signals.request_decided.send(sender=AccessRequest, request=request, approval=None, final=True)
        issue_grant(request, now=now)
    elif state == RequestState.DENIED:
        signals.request_decided.send(sender=AccessRequest, request=request, approval=None, final=True)
        signals.request_closed.send(sender=AccessRequest, request=request, reason=reasons_text(evaluation.reasons))
    return request


def extend_grant(grant, *, duration_seconds, justification="", requested_by=None):
    """Ask for `grant` to last `duration_seconds` from now, through the same policy as a new request.

    Returns the extension request: approved (grant extended), pending, or denied.
    """
    grant = Grant.objects.select_related("workflow", "entitlement", "workload", "requested_by").get(pk=grant.pk)
    if grant.status != GrantStatus.ACTIVE or grant.expires_at <= timezone.now():
        raise IllegalTransition(f"Grant #{grant.pk} has ended; request access again instead of extending.")
    if grant.workload_id is None and requested_by is not None and requested_by.pk != grant.requested_by_id:
        raise InvalidInput("Only the grant's holder can ask to extend it.")
    policy = Policy.objects.filter(workflow=grant.workflow, entitlement=grant.entitlement).first()
    if not justification.strip() and policy is not None and policy.justification_required:
        # Ask for the reason rather than make one up that the policy would accept.
        message = "The policy asks for a justification: say why the grant should last longer."
        raise InvalidInput(message, field_errors={"justification": [message]})
    return submit_request(
        workflow=grant.workflow,
        entitlement=grant.entitlement,
        duration_seconds=duration_seconds,
        requested_by=grant.requested_by if grant.workload_id is None else None,
        workload=grant.workload,
        on_behalf_of=grant.on_behalf_of,
        task_ref=grant.task_ref,
        justification=justification or f"Extension of grant #{grant.pk}",
        extends=grant,
    )
