"""Deciding requests: approve or deny (with separation of duties re-checked under lock),
withdraw, time out, and cancel what is pending for a workload or a person."""

from django.db import transaction
from django.utils import timezone

from governance.exceptions import IllegalTransition, InvalidInput, NotAllowed
from identities.models import User

from .. import signals
from ..choices import Channel, Decision, RequestState
from ..models import AccessRequest, Approval
from ..policy import human_duration
from .grants import issue_grant


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
