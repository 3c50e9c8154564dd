"""Ticket side effects of a whole batch of state changes (the expiry sweeper's), in bulk.

The same outbox rows `request_tickets.queue_ticket_close` writes one request at a time, with
the same idempotency keys, so a grant ended by the sweeper and again by its ETA task
still closes its ticket once.
"""

from approvals.models import OutboxMessage, TicketLink
from approvals.queues.outbox import enqueue_many
from approvals.queues.request_tickets import CLOSE, OPEN


def queue_ticket_closes(closes, *, outcome):
    """`queue_ticket_close` for many requests at once: [(request_id, comment, event)], two queries."""
    holding = {}
    request_ids = {request_id for request_id, _, _ in closes}
    for request_id, connection_id in TicketLink.objects.filter(request_id__in=request_ids).values_list(
        "request_id", "connection_id"
    ):
        holding.setdefault(request_id, set()).add(connection_id)
    # Openings still on their way hold a ticket too (their keys end in the connection id).
    on_their_way = OutboxMessage.objects.filter(topic=OPEN, delivered_at__isnull=True, failed_at__isnull=True)
    for payload in on_their_way.values_list("payload", flat=True):
        if payload.get("request_id") in request_ids:
            holding.setdefault(payload["request_id"], set()).add(payload["connection_id"])
    enqueue_many(
        CLOSE,
        [
            (
                {"request_id": request_id, "connection_id": connection_id, "outcome": outcome, "comment": comment},
                f"{CLOSE}:{request_id}:{connection_id}:{event}",
            )
            for request_id, comment, event in closes
            for connection_id in sorted(holding.get(request_id, ()))
        ],
    )
