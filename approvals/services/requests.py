"""Access requests: submit, decide, cancel, time out.

Every function runs in a transaction, locks the row it changes, re-checks its state and
raises a domain error on an illegal move. Domain signals are sent inside the transaction
(receivers write evidence and outbox rows atomically with the change); Celery work is
scheduled on commit.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.exceptions import IllegalTransition, InvalidInput, NotAllowed
from governance.models import Policy, Workflow
from identities.models import User, WorkloadIdentity

from .. import signals
from ..choices import Channel, Decision, GrantStatus, PolicyEffect, RequestState
from ..models import AccessRequest, Approval, Grant
from ..policy import Person, RequestContext, evaluate, human_duration
from .grants import issue_grant


def _person(user):
    if user is None:
        return None
    return Person(id=user.pk, label=str(user), is_active=user.is_active)


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
        Workflow.objects.select_for_update(of=("self",))
        .select_related("control_owner", "backup_owner")
        .get(pk=workflow.pk)
    )
    if workload is not None:
        workload = WorkloadIdentity.objects.select_for_update(of=("self",)).select_related("owner").get(pk=workload.pk)
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
        signals.request_closed.send(sender=AccessRequest, request=request, reason="; ".join(evaluation.reasons))
    return request


def _lock_request(request):
    return (
        # Lock only the request row: the joined owners and workload are read, not changed.
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related(
            "workflow__control_owner",
            "workflow__backup_owner",
            "entitlement",
            "workload__owner",
            "requested_by",
            "on_behalf_of",
        )
        .get(pk=request.pk)
    )


def check_can_decide(request, approver, *, now=None):
    """Raise NotAllowed unless `approver` may decide `request` right now.

    Re-reads the workflow's owners (eligibility is checked at the moment of the decision,
    never taken from the snapshot) and applies separation of duties.
    """
    if not isinstance(approver, User):
        raise NotAllowed("Workloads and API keys never approve or deny requests.")
    if not approver.is_active:
        raise NotAllowed(f"{approver} is not active.")
    workflow = request.workflow
    if request.requested_by_id == approver.pk:
        raise NotAllowed("You cannot decide your own request (separation of duties).")
    if request.on_behalf_of_id == approver.pk:
        raise NotAllowed("You cannot decide a request made on your behalf (separation of duties).")
    if request.workload_id and request.workload.owner_id == approver.pk:
        raise NotAllowed(f"You own the workload “{request.workload}” that made this request (separation of duties).")
    if approver.pk not in {u.pk for u in workflow.owners}:
        raise NotAllowed(f"Only the control owner or backup owner of “{workflow}” may decide this request.")
    if request.approvals.filter(approver=approver).exists():
        raise IllegalTransition("You have already decided this request; two-person approval needs someone else.")


def decide(request, *, approver, decision, channel=Channel.BROWSER, comment=""):
    """Record one person's decision. A deny ends the request; enough approvals grant it."""
    if decision not in Decision.values:
        raise InvalidInput(f"Unknown decision “{decision}”.", field_errors={"decision": ["Must be approve or deny."]})
    with transaction.atomic():
        request = _lock_request(request)
        now = timezone.now()
        if request.state != RequestState.PENDING:
            raise IllegalTransition(f"Request #{request.pk} is {request.get_state_display().lower()}, not pending.")
        if request.pending_until and now >= request.pending_until:
            raise IllegalTransition(f"Request #{request.pk} has timed out waiting for approval.")
        check_can_decide(request, approver, now=now)
        approval = Approval.objects.create(
            request=request, approver=approver, decision=decision, channel=channel, comment=comment or ""
        )
        if decision == Decision.DENY:
            _close(request, RequestState.DENIED, f"Denied by {approver}" + (f": {comment}" if comment else "."), now)
            signals.request_decided.send(sender=AccessRequest, request=request, approval=approval, final=True)
            signals.request_closed.send(sender=AccessRequest, request=request, reason=request.state_reason)
            return request
        approvals = request.approvals.filter(decision=Decision.APPROVE).count()
        if approvals < request.required_approvals:
            signals.request_decided.send(sender=AccessRequest, request=request, approval=approval, final=False)
            return request
        request.state = RequestState.APPROVED
        request.decided_at = now
        request.state_reason = f"Approved by {', '.join(str(a.approver) for a in request.approvals.all())}."
        request.save(update_fields=["state", "decided_at", "state_reason", "updated_at"])
        signals.request_decided.send(sender=AccessRequest, request=request, approval=approval, final=True)
        issue_grant(request, now=now)
        return request


def _close(request, state, reason, now):
    request.state = state
    request.decided_at = now
    request.state_reason = reason
    request.save(update_fields=["state", "decided_at", "state_reason", "updated_at"])


def cancel_request(request, *, by=None, reason=""):
    """Withdraw a pending request. Cancelling a cancelled request is a no-op."""
    with transaction.atomic():
        request = _lock_request(request)
        if request.state == RequestState.CANCELLED:
            return request
        if request.state != RequestState.PENDING:
            raise IllegalTransition(
                f"Request #{request.pk} is {request.get_state_display().lower()}; only a pending "
                "request can be cancelled."
            )
        who = f" by {by}" if by is not None else ""
        _close(request, RequestState.CANCELLED, f"Cancelled{who}" + (f": {reason}" if reason else "."), timezone.now())
        signals.request_closed.send(sender=AccessRequest, request=request, reason=request.state_reason)
        return request


def time_out_pending_requests(now=None):
    """Close every pending request whose wait is over. Returns how many timed out."""
    now = now or timezone.now()
    count = 0
    due = AccessRequest.objects.filter(state=RequestState.PENDING, pending_until__lte=now).values_list("pk", flat=True)
    for pk in list(due[:1000]):
        with transaction.atomic():
            request = AccessRequest.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if request is None or request.state != RequestState.PENDING:
                continue  # decided or being decided meanwhile
            waited = human_duration((now - request.created_at).total_seconds())
            _close(request, RequestState.TIMED_OUT, f"No decision within {waited}.", now)
            signals.request_closed.send(sender=AccessRequest, request=request, reason=request.state_reason)
            count += 1
    return count


def cancel_pending_requests_of(*, workload=None, person=None, reason, by=None):
    """Cancel every pending request made by a workload or by/for a person. Returns the count."""
    qs = AccessRequest.objects.filter(state=RequestState.PENDING)
    if workload is not None:
        qs = qs.filter(workload=workload)
    if person is not None:
        qs = qs.filter(requested_by=person) | qs.filter(on_behalf_of=person)
    count = 0
    for request in list(qs):
        try:
            cancel_request(request, by=by, reason=reason)
            count += 1
        except IllegalTransition:
            continue  # decided meanwhile
    return count


def extend_grant(grant, *, duration_seconds, justification="", requested_by=None):
    """Ask for `grant` to last `duration_seconds` from now, through the same policy as a new request.

    Returns the extension request: approved (grant extended), pending, or denied.
    """
    grant = Grant.objects.select_related("workflow", "entitlement", "workload", "requested_by").get(pk=grant.pk)
    if grant.status != GrantStatus.ACTIVE or grant.expires_at <= timezone.now():
        raise IllegalTransition(f"Grant #{grant.pk} has ended; request access again instead of extending.")
    if grant.workload_id is None and requested_by is not None and requested_by.pk != grant.requested_by_id:
        raise InvalidInput("Only the grant's holder can ask to extend it.")
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
