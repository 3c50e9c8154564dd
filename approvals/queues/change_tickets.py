"""A registry change's ticket: open it when a widening change waits for a second person,
reopen it when a decision read from it was refused, close it when the change is settled.

A change goes to the queue of the workflow it concerns, like that workflow's access
requests (a change of an entitlement alone concerns no workflow: it waits in the
deciders' inbox). The `queue_*` functions run inside the proposing or deciding
transaction and only write outbox rows; the `deliver_*` handlers run in the relay and are
idempotent (an existing link or a settled change makes a second delivery a no-op), so a
retry never opens a second ticket. Decisions come back through `decisions.sync_ticket`.
"""

from django.conf import settings
from django.urls import NoReverseMatch
from django.utils import timezone

from approvals.models import QueueConnection, TicketLink
from approvals.queues.connections import (
    call_adapter,
    connections_holding,
    link_or_wait,
    record_connection_result,
    record_link,
    tag_key,
)
from approvals.queues.outbox import enqueue, handler
from approvals.tickets import ChangeTicketContent, TicketError
from governance.changes.decisions import route_label
from governance.changes.models import RegistryChange
from identities.models import User

OPEN, CLOSE, REOPEN = "change_ticket.open", "change_ticket.close", "change_ticket.reopen"
# Shown beside the new value; the workflow and entitlement have lines of their own.
NOT_LISTED = {"workflow", "entitlement"}


def change_url(change):
    try:
        path = change.get_absolute_url()
    except NoReverseMatch:  # the portal pages are optional in a headless deployment
        path = f"/registry/changes/{change.pk}/"
    return f"{settings.SITE_URL}{path}"


def _shown(name, value):
    if value in (None, ""):
        return "—"
    if name.endswith("owner"):
        person = User.objects.filter(pk=value).first()
        return person.label if person else f"#{value}"
    return str(value)


def change_content(change) -> ChangeTicketContent:
    """The change as plain data: what it does, who proposed it, what widens, who decides."""
    before = change.before or {}
    rows = tuple(
        (name, f"{_shown(name, before[name])} → {_shown(name, value)}" if name in before else _shown(name, value))
        for name, value in sorted(change.changes.items())
        if name not in NOT_LISTED
    )
    return ChangeTicketContent(
        change_id=change.pk,
        change_url=change_url(change),
        summary=change.summary,
        change_kind=change.get_kind_display(),
        author=change.author.label,
        workflow=str(change.workflow) if change.workflow_id else "",
        entitlement=change.entitlement.scope if change.entitlement_id else "",
        widens=tuple(str(r) for r in change.reasons or []),
        changes=rows,
        decider=route_label(change),
        author_email=change.author.email,
        change_key=tag_key(change.created_at),
    )


def _queue_of(change):
    queue = change.workflow.queue if change.workflow_id else None
    if queue is None or not queue.enabled or not queue.adapter().remote:
        return None
    return queue


def queue_change_open(change):
    """Called in the proposing transaction: a pending change of a workflow with a queue gets a ticket."""
    queue = _queue_of(change)
    if not change.is_pending or queue is None:
        return None
    return enqueue(OPEN, {"change_id": change.pk, "connection_id": queue.pk}, key=f"{OPEN}:{change.pk}:{queue.pk}")


def _connections_of(change):
    return connections_holding(change.ticket_links.all(), f"{OPEN}:{change.pk}:")


def queue_change_reopen(change, text, *, event):
    """A decision read from the ticket was refused: put the ticket back before the deciders."""
    for connection_id in _connections_of(change):
        enqueue(
            REOPEN,
            {"change_id": change.pk, "connection_id": connection_id, "text": text},
            key=f"{REOPEN}:{change.pk}:{connection_id}:{event}",
        )


def queue_change_close(change):
    """Called in the deciding transaction: close the change's tickets, saying how it ended."""
    who = f" by {change.decided_by}" if change.decided_by_id else ""
    text = f"Mandate: registry change #{change.pk} is {change.get_state_display().lower()}{who}."
    if change.comment:
        text += f" {change.comment}"
    outcome = "approved" if change.state == "approved" else "denied"
    for connection_id in _connections_of(change):
        enqueue(
            CLOSE,
            {"change_id": change.pk, "connection_id": connection_id, "outcome": outcome, "comment": text},
            key=f"{CLOSE}:{change.pk}:{connection_id}",
        )


def _record_open_failure(payload, error):
    record_connection_result(
        payload.get("connection_id"),
        error=f"Opening a ticket for registry change #{payload.get('change_id')} failed: {error}",
    )


@handler(OPEN, on_failure=_record_open_failure)
def deliver_change_open(payload):
    change = (
        RegistryChange.objects.select_related("workflow", "entitlement__resource_owner", "author")
        .filter(pk=payload["change_id"])
        .first()
    )
    connection = QueueConnection.objects.filter(pk=payload["connection_id"]).first()
    if change is None or connection is None:
        return
    if TicketLink.objects.filter(change=change, connection=connection).exists():
        return
    if not change.is_pending:
        return  # decided in Mandate before the queue was reached: nothing to ask anyone
    if not connection.enabled:
        raise TicketError(f"The queue “{connection.name}” is disabled.", permanent=True)
    ref = call_adapter(connection, lambda adapter: adapter.open_ticket(change_content(change)))
    record_link(connection, ref, change=change)


def _link_for(payload):
    change_id, connection_id = payload["change_id"], payload["connection_id"]
    return link_or_wait(connection_id, f"{OPEN}:{change_id}:{connection_id}", change_id=change_id)


@handler(REOPEN)
def deliver_change_reopen(payload):
    link = _link_for(payload)
    if link is not None:
        call_adapter(link.connection, lambda adapter: adapter.reopen_ticket(link.external_key, comment=payload["text"]))
        TicketLink.objects.filter(pk=link.pk).update(closed_at=None)


@handler(CLOSE)
def deliver_change_close(payload):
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
