"""Connection health and the links between Mandate objects and their tickets.

Shared by every object's ticket (through `ticket_flow`) and by the decisions read back
from tickets: one place records whether a queue answered, one place
remembers which ticket belongs to which object, closing a duplicate if two deliveries
raced.
"""

import hashlib
import logging

from django.utils import timezone

from approvals.models import OutboxMessage, QueueConnection, TicketLink
from approvals.tickets import CheckResult, TicketError
from governance.metrics.instruments import ticket_error

log = logging.getLogger("approvals.tickets")


def tag_key(created_at):
    """Eight hex digits of a creation time. With the id, a ticket's tag names one object only:
    a restored backup or a staging copy sharing the queue reuses ids, not creation times."""
    return hashlib.sha256(f"{created_at.timestamp():.6f}".encode()).hexdigest()[:8]


def record_connection_result(connection_id, *, error=""):
    now = timezone.now()
    if error:
        QueueConnection.objects.filter(pk=connection_id).update(last_error=error[:2000], last_error_at=now)
    else:
        QueueConnection.objects.filter(pk=connection_id).update(last_success_at=now, last_error="")


def test_connection(connection):
    """Run the adapter's configuration check and record the outcome on the connection."""
    try:
        result = connection.adapter().check_configuration()
    except TicketError as exc:
        ticket_error(connection.kind, exc)
        result = CheckResult(False, (exc.message,))
    record_connection_result(connection.pk, error="" if result.ok else " ".join(result.messages))
    return result


def call_adapter(connection, action):
    """Run one adapter call, keeping the connection's last success / last error current."""
    try:
        result = action(connection.adapter())
    except TicketError as exc:
        ticket_error(connection.kind, exc)
        record_connection_result(connection.pk, error=exc.message)
        raise
    record_connection_result(connection.pk)
    return result


def connections_holding(links, open_key_prefix):
    """Ids of the queues holding (or about to hold) a ticket: linked, or with an opening row
    still on its way (keys end in the connection id)."""
    ids = set(links.values_list("connection_id", flat=True))
    for key in OutboxMessage.objects.filter(
        idempotency_key__startswith=open_key_prefix, failed_at__isnull=True
    ).values_list("idempotency_key", flat=True):
        ids.add(int(key.rsplit(":", 1)[1]))
    return sorted(ids)


def record_link(connection, ref, **subject):
    """Remember where the ticket of `subject` (request= or campaign=) is; idempotent.

    A ticket created beside the one already linked (a delivery that outlived its lease
    while the next one succeeded) is closed as a duplicate, so nobody acts on it.
    """
    link, created = TicketLink.objects.get_or_create(
        connection=connection, **subject, defaults={"external_key": ref.key, "url": ref.url[:500]}
    )
    if not created and ref.created and link.external_key != ref.key:
        log.warning("closing duplicate ticket %s of %s (kept %s)", ref.key, subject, link.external_key)
        call_adapter(
            connection,
            lambda adapter: adapter.close_ticket(
                ref.key,
                outcome="denied",
                comment=f"Mandate: duplicate of ticket {link.external_key} {link.url}; only that one counts.",
            ),
        )
    return link


def link_or_wait(connection_id, open_key, **subject):
    """The ticket to write on, None if there is none and will be none, or a transient
    TicketError while its opening row is still being delivered."""
    link = TicketLink.objects.select_related("connection").filter(connection_id=connection_id, **subject).first()
    if link is not None:
        return link
    opening = OutboxMessage.objects.filter(idempotency_key=open_key).first()
    if opening is None or opening.failed_at or opening.delivered_at:
        return None  # no ticket was ever opened (or could be): nothing to write on
    raise TicketError("The ticket is not open yet; trying again shortly.", permanent=False)
