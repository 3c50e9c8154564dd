"""A request's ticket: open it when the request waits for a decision, comment on what
happens to the request and its grant, close it when access ends.

The `queue_*` functions run inside the caller's transaction and only write outbox rows;
the `deliver_*` handlers run in the relay, outside any transaction, and are idempotent
(an existing link or a settled request makes a second delivery a no-op).
"""

from django.conf import settings
from django.urls import NoReverseMatch
from django.utils import timezone

from approvals.choices import RequestState
from approvals.models import AccessRequest, QueueConnection, TicketLink
from approvals.queues.connections import (
    call_adapter,
    connections_holding,
    link_or_wait,
    record_connection_result,
    record_link,
    tag_key,
)
from approvals.queues.outbox import enqueue, handler
from approvals.tickets import TicketContent, TicketError
from identities.models import User

OPEN, COMMENT, CLOSE = "ticket.open", "ticket.comment", "ticket.close"


def request_url(request):
    try:
        path = request.get_absolute_url()
    except NoReverseMatch:  # the portal pages are optional in a headless deployment
        path = f"/requests/{request.pk}/"
    return f"{settings.SITE_URL}{path}"


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
    if request.state != RequestState.PENDING or queue is None or not queue.enabled or not queue.adapter().remote:
        return None
    return enqueue(OPEN, {"request_id": request.pk, "connection_id": queue.pk}, key=f"{OPEN}:{request.pk}:{queue.pk}")


def _connections_of(request):
    return connections_holding(request.ticket_links.all(), f"{OPEN}:{request.pk}:")


def queue_ticket_comment(request, text, *, event):
    for connection_id in _connections_of(request):
        enqueue(
            COMMENT,
            {"request_id": request.pk, "connection_id": connection_id, "text": text},
            key=f"{COMMENT}:{request.pk}:{connection_id}:{event}",
        )


def queue_ticket_close(request, *, outcome, comment, event):
    for connection_id in _connections_of(request):
        enqueue(
            CLOSE,
            {"request_id": request.pk, "connection_id": connection_id, "outcome": outcome, "comment": comment},
            key=f"{CLOSE}:{request.pk}:{connection_id}:{event}",
        )


def _record_open_failure(payload, error):
    request_id = payload.get("request_id")
    record_connection_result(
        payload.get("connection_id"), error=f"Opening a ticket for request #{request_id} failed: {error}"
    )


@handler(OPEN, on_failure=_record_open_failure)
def deliver_open(payload):
    request = (
        AccessRequest.objects.select_related("workflow", "entitlement", "workload", "requested_by", "on_behalf_of")
        .filter(pk=payload["request_id"])
        .first()
    )
    connection = QueueConnection.objects.filter(pk=payload["connection_id"]).first()
    if request is None or connection is None:
        return
    if TicketLink.objects.filter(request=request, connection=connection).exists():
        return
    if request.state != RequestState.PENDING:
        return  # settled in the portal before the queue was reached: nothing to ask anyone
    if not connection.enabled:
        raise TicketError(f"The queue “{connection.name}” is disabled.", permanent=True)
    ref = call_adapter(connection, lambda adapter: adapter.open_ticket(request_content(request)))
    record_ticket_opened(request, connection, ref)


def record_ticket_opened(request, connection, ref):
    """Remember where the request's ticket is (idempotent)."""
    return record_link(connection, ref, request=request)


def _link_for(payload):
    request_id, connection_id = payload["request_id"], payload["connection_id"]
    return link_or_wait(connection_id, f"{OPEN}:{request_id}:{connection_id}", request_id=request_id)


@handler(COMMENT)
def deliver_comment(payload):
    link = _link_for(payload)
    if link is not None:
        call_adapter(link.connection, lambda adapter: adapter.add_comment(link.external_key, payload["text"]))


@handler(CLOSE)
def deliver_close(payload):
    link = _link_for(payload)
    if link is None:
        return
    call_adapter(
        link.connection,
        lambda adapter: adapter.close_ticket(
            link.external_key, outcome=payload["outcome"], comment=payload.get("comment", "")
        ),
    )
    TicketLink.objects.filter(pk=link.pk, closed_at__isnull=True).update(closed_at=timezone.now())
