"""The outbox flow every Mandate object with a ticket follows: an access request, a registry
change, a review campaign.

A `TicketFlow` for each kind of object names its outbox topics (`<prefix>.open`, `.comment`,
`.reopen`, `.close`) and the payload field holding the object's id, and builds every
idempotency key the same way, `<topic>:<id>:<connection id>[:<event>]`: an opening's key
ends in the connection id, which is how `connections_holding` finds a ticket still on its
way, and the same event twice is one outbox row.

The `queue_*` side runs inside the caller's transaction and only writes outbox rows; the
`deliver_*` side runs in the relay, outside any transaction, and is idempotent (an existing
link or an object that no longer waits makes a second delivery a no-op), so a retry never
opens a second ticket. Each kind's module keeps what is its own: when it asks for a ticket,
what the ticket says, and registers the handlers with `outbox.handler`.
"""

from dataclasses import dataclass

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
)
from approvals.queues.outbox import enqueue
from approvals.tickets import TicketError


def page_url(subject, headless_path):
    """The address a ticket links to: the object's portal page, or `headless_path` where the
    portal pages are not installed (a headless deployment)."""
    try:
        path = subject.get_absolute_url()
    except NoReverseMatch:
        path = headless_path
    return f"{settings.SITE_URL}{path}"


def remote_queue(queue):
    """The queue if it takes tickets now (set, enabled, not the built-in inbox), else None."""
    if queue is None or not queue.enabled or not queue.adapter().remote:
        return None
    return queue


@dataclass(frozen=True)
class TicketFlow:
    """The tickets of one kind of object: its outbox rows, and their delivery."""

    prefix: str  # of the outbox topics: "ticket" gives "ticket.open", …
    subject: str  # the `TicketLink` field naming the object; its id travels as `<subject>_id`
    opening: str  # "Opening a ticket for request #{}": the connection's error when opening fails
    quiet_once_closed: bool = False  # comments on a closed ticket are dropped
    closed_as: str = ""  # the outcome of every close; empty: the close row carries its own

    @property
    def open(self):
        return f"{self.prefix}.open"

    @property
    def comment(self):
        return f"{self.prefix}.comment"

    @property
    def reopen(self):
        return f"{self.prefix}.reopen"

    @property
    def close(self):
        return f"{self.prefix}.close"

    @property
    def id_field(self):
        return f"{self.subject}_id"

    def key(self, topic, subject_id, connection_id, event=None):
        key = f"{topic}:{subject_id}:{connection_id}"
        return key if event is None else f"{key}:{event}"

    def open_key(self, subject_id, connection_id):
        return self.key(self.open, subject_id, connection_id)

    # ------------------------------------------------------------------ in the caller's transaction
    def queue_to(self, topic, subject, connection_id, *, event=None, **fields):
        """One outbox row for the ticket of `subject` in one queue."""
        payload = {self.id_field: subject.pk, "connection_id": connection_id, **fields}
        return enqueue(topic, payload, key=self.key(topic, subject.pk, connection_id, event))

    def queue_open(self, subject, queue, **fields):
        return self.queue_to(self.open, subject, queue.pk, **fields)

    def holding(self, subject):
        """Ids of the queues holding (or about to hold) a ticket of `subject`."""
        return connections_holding(subject.ticket_links.all(), f"{self.open}:{subject.pk}:")

    def queue_everywhere(self, topic, subject, *, event=None, **fields):
        """One outbox row for each ticket of `subject`: a comment, a reopening or a close."""
        for connection_id in self.holding(subject):
            self.queue_to(topic, subject, connection_id, event=event, **fields)

    # ------------------------------------------------------------------ in the relay
    def record_open_failure(self, payload, error):
        message = self.opening.format(payload.get(self.id_field))
        record_connection_result(payload.get("connection_id"), error=f"{message} failed: {error}")

    def deliver_open(self, payload, subjects, *, waiting, content):
        """Open the ticket of the object in `subjects` the payload names, unless it has one
        there already or no longer waits for anyone; `content(subject)` is what it says."""
        subject = subjects.filter(pk=payload[self.id_field]).first()
        connection = QueueConnection.objects.filter(pk=payload["connection_id"]).first()
        if subject is None or connection is None:
            return None
        if TicketLink.objects.filter(connection=connection, **{self.subject: subject}).exists():
            return None
        if not waiting(subject):
            return None  # settled before the queue was reached: nothing to ask anyone
        if not connection.enabled:
            raise TicketError(f"The queue “{connection.name}” is disabled.", permanent=True)
        ref = call_adapter(connection, lambda adapter: adapter.open_ticket(content(subject)))
        return record_link(connection, ref, **{self.subject: subject})

    def link_for(self, payload):
        subject_id, connection_id = payload[self.id_field], payload["connection_id"]
        return link_or_wait(connection_id, self.open_key(subject_id, connection_id), **{self.id_field: subject_id})

    def deliver_comment(self, payload):
        link = self.link_for(payload)
        if link is None or (self.quiet_once_closed and link.closed_at is not None):
            return
        call_adapter(link.connection, lambda adapter: adapter.add_comment(link.external_key, payload["text"]))

    def deliver_reopen(self, payload):
        link = self.link_for(payload)
        if link is None:
            return
        call_adapter(link.connection, lambda adapter: adapter.reopen_ticket(link.external_key, comment=payload["text"]))
        TicketLink.objects.filter(pk=link.pk).update(closed_at=None)

    def deliver_close(self, payload):
        link = self.link_for(payload)
        if link is None:
            return
        outcome, comment = self.closed_as or payload["outcome"], payload.get("comment", "")
        call_adapter(
            link.connection, lambda adapter: adapter.close_ticket(link.external_key, outcome=outcome, comment=comment)
        )
        TicketLink.objects.filter(pk=link.pk, closed_at__isnull=True).update(closed_at=timezone.now())
