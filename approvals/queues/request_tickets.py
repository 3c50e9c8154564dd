"""A request's ticket: open it when the request waits for a decision, comment on what
happens to the request and its grant, close it when access ends.

The `queue_*` functions run inside the caller's transaction and only write outbox rows;
the handlers run in the relay, outside any transaction, and are idempotent (an existing
link or a settled request makes a second delivery a no-op). How rows are keyed and
delivered is `ticket_flow`'s, shared with a registry change's and a review's ticket; here
is when a request asks for a ticket and what the ticket says.
"""

from approvals.choices import RequestState
from approvals.models import AccessRequest
from approvals.queues.connections import record_link, tag_key
from approvals.queues.outbox import handler
from approvals.queues.ticket_flow import TicketFlow, page_url, remote_queue
from approvals.tickets import TicketContent
from identities.models import User

FLOW = TicketFlow("ticket", "request", opening="Opening a ticket for request #{}")
OPEN, COMMENT, CLOSE, REOPEN = FLOW.open, FLOW.comment, FLOW.close, FLOW.reopen


def request_url(request):
    return page_url(request, f"/requests/{request.pk}/")


def _reason_text(reason):
    if isinstance(reason, dict):
        return str(reason.get("message") or reason.get("reason") or reason.get("code") or reason)
    return str(reason)


def request_content(request) -> TicketContent:
    """The request as plain data for an adapter: who, what, where, how long, why, who decides."""
    approvers = User.objects.filter(pk__in=request.eligible_approver_ids or []).order_by("username")
    initiator = request.initiator
    return TicketContent(
        request_id=request.pk,
        request_url=request_url(request),
        subject=str(request.workload) if request.workload_id else str(request.requested_by),
        subject_is_workload=bool(request.workload_id),
        on_behalf_of=str(request.on_behalf_of) if request.on_behalf_of_id else "",
        entitlement=request.entitlement.scope,
        entitlement_name=request.entitlement.name,
        access_level=request.entitlement.get_access_level_display(),
        workflow=request.workflow.name,
        business_process=request.workflow.business_process,
        duration_seconds=request.duration_seconds,
        task_ref=request.task_ref,
        justification=request.justification,
        reasons=tuple(_reason_text(r) for r in request.decision_reasons or []),
        approvers=tuple(u.label for u in approvers),
        requester_email=initiator.email if initiator else "",
        request_key=tag_key(request.created_at),
    )


def queue_ticket_open(request):
    """Called in the submitting transaction: a pending request with a queue gets a ticket."""
    queue = request.workflow.queue
    if request.state != RequestState.PENDING or remote_queue(queue) is None:
        return None
    return FLOW.queue_open(request, queue)


def queue_ticket_comment(request, text, *, event):
    FLOW.queue_everywhere(COMMENT, request, event=event, text=text)


def queue_ticket_reopen(request, text, *, event):
    """A decision read from the ticket was refused: put the ticket back before the approvers."""
    FLOW.queue_everywhere(REOPEN, request, event=event, text=text)


def queue_ticket_close(request, *, outcome, comment, event):
    FLOW.queue_everywhere(CLOSE, request, event=event, outcome=outcome, comment=comment)


@handler(OPEN, on_failure=FLOW.record_open_failure)
def deliver_open(payload):
    FLOW.deliver_open(
        payload,
        AccessRequest.objects.select_related("workflow", "entitlement", "workload", "requested_by", "on_behalf_of"),
        waiting=lambda request: request.state == RequestState.PENDING,
        content=request_content,
    )


def record_ticket_opened(request, connection, ref):
    """Remember where the request's ticket is (idempotent)."""
    return record_link(connection, ref, request=request)


handler(COMMENT)(FLOW.deliver_comment)
handler(REOPEN)(FLOW.deliver_reopen)
handler(CLOSE)(FLOW.deliver_close)
