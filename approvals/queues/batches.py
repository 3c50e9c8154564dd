"""Ticket side effects of a whole batch of state changes (the expiry sweeper's), in bulk.

The same outbox rows `request_tickets.queue_ticket_close` writes one request at a time, with
the same idempotency keys, so a grant ended by the sweeper and again by its ETA task
still closes its ticket once.
"""

from django.db import connection

from approvals.models import OutboxMessage, TicketLink
from approvals.queues.outbox import enqueue_many
from approvals.queues.request_tickets import CLOSE, FLOW, OPEN
from governance.models.statements import bound_cursor


def _ticket_links(request_ids):
    """(request id, connection id) of every ticket of these requests: one statement."""
    if connection.vendor != "postgresql":
        return TicketLink.objects.filter(request_id__in=request_ids).values_list("request_id", "connection_id")
    # The batch's ids as one array parameter: `__in` would bind (and compile) 5,000 of them.
    with bound_cursor() as cursor:
        cursor.execute(
            f"SELECT request_id, connection_id FROM {TicketLink._meta.db_table} WHERE request_id = ANY(%s)",  # noqa: S608
            [list(request_ids)],
        )
        return cursor.fetchall()


def queue_ticket_closes(closes, *, outcome):
    """`queue_ticket_close` for many requests at once: [(request_id, comment, event)], two queries."""
    holding = {}
    request_ids = {request_id for request_id, _, _ in closes}
    for request_id, connection_id in _ticket_links(request_ids):
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
                FLOW.key(CLOSE, request_id, connection_id, event),
            )
            for request_id, comment, event in closes
            for connection_id in sorted(holding.get(request_id, ()))
        ],
    )
