"""Two deliveries of one outbox row never run side by side, so a slow ticket system or an
impatient operator cannot make Mandate open a ticket twice.

A row's lease starts when its own delivery starts (one row at a time, not a batch of fifty
leased at once), the delivery's remote calls stop when its time budget is spent, and only
the holder of the current lease may record the outcome.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from approvals.models import OutboxMessage, TicketLink
from approvals.queues import outbox
from approvals.queues.outbox import LEASE, claim, deliver, enqueue, relay, retry_now
from tests.queues.helpers import connect, deliver_all, write_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def probe(monkeypatch):
    """A test topic whose handler runs `probe.during(payload)` while it is being delivered."""

    class Probe:
        seen = []

        def during(self, payload):
            pass

        def handle(self, payload):
            self.seen.append(payload)
            self.during(payload)

    handler = Probe()
    monkeypatch.setitem(outbox.HANDLERS, "test.probe", handler.handle)
    return handler


def enqueue_probes(*names):
    with transaction.atomic():
        return [enqueue("test.probe", {"name": name}, key=f"probe:{name}") for name in names]


def test_the_relay_leases_each_row_only_when_its_own_delivery_starts(probe):
    first, second = enqueue_probes("first", "second")
    leases = {}

    def during(payload):
        leases[payload["name"]] = dict(OutboxMessage.objects.values_list("idempotency_key", "lease_until"))

    probe.during = during
    assert relay() == {"delivered": 2}
    # While the first was delivered, the second was still free for any other relay.
    assert leases["first"]["probe:first"] is not None and leases["first"]["probe:second"] is None
    assert not OutboxMessage.objects.filter(lease_until__isnull=False).exists()


def test_a_delivery_that_outlived_its_lease_cannot_record_its_outcome(probe):
    (message,) = enqueue_probes("slow")
    taken_over = []

    def during(payload):
        # The lease ran out while this delivery hung; another relay takes the row.
        taken_over.extend(claim(now=timezone.now() + LEASE + timedelta(seconds=1)))

    probe.during = during
    (claimed,) = claim()
    assert deliver(claimed) == "superseded"
    assert taken_over == [message.pk]
    message.refresh_from_db()
    assert message.delivered_at is None and message.attempts == 2
    assert message.lease_until > timezone.now() + LEASE  # still the second relay's


def test_retry_now_leaves_a_row_that_is_being_delivered_alone(probe):
    busy, failed = enqueue_probes("busy", "failed")
    OutboxMessage.objects.filter(pk=failed.pk).update(failed_at=timezone.now(), last_error="401")
    assert claim() == [busy.pk]
    assert retry_now([busy.pk, failed.pk]) == 1
    assert claim() == [failed.pk]  # the failed one is due again; the busy one keeps its lease


@pytest.mark.parametrize("ticket_system", ["github"], indirect=True)
def test_remote_calls_stop_when_the_delivery_budget_is_spent(ticket_system, workflow, requester, monkeypatch):
    connect(workflow, ticket_system)
    monkeypatch.setattr(outbox, "DELIVERY_BUDGET", timedelta(seconds=0.3))
    ticket_system.fake.slow_seconds = 0.5
    ticket_system.inject("slow", method="GET")  # looking for an existing ticket takes too long
    request = write_request(workflow, requester)
    assert relay() == {"retry": 1}
    message = OutboxMessage.objects.get(topic="ticket.open")
    assert "ran out of time" in message.last_error and message.lease_until is None
    assert ticket_system.tickets() == []  # the create was never sent
    monkeypatch.setattr(outbox, "DELIVERY_BUDGET", timedelta(minutes=4))
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    deliver_all()
    assert ticket_system.tickets() == [TicketLink.objects.get(request=request).external_key]
