"""The outbox: written with the state change, delivered after it, retried, never doubled."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from approvals.models import OutboxMessage, TicketLink
from approvals.queues.outbox import claim, enqueue, relay
from approvals.services import decide, submit_request
from tests import factories
from tests.conftest import require_service
from tests.queues.helpers import connect, deliver_all, write_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("ticket_system", ["github"], indirect=True)
def test_the_ticket_row_commits_or_rolls_back_with_the_request(ticket_system, workflow, requester):
    connect(workflow, ticket_system)
    with pytest.raises(RuntimeError), transaction.atomic():
        write_request(workflow, requester)
        assert OutboxMessage.objects.filter(topic="ticket.open").count() == 1
        raise RuntimeError("the request's transaction fails after the submit")
    assert not OutboxMessage.objects.exists()
    request = write_request(workflow, requester)
    assert OutboxMessage.objects.get(topic="ticket.open").payload["request_id"] == request.pk


def test_requests_that_need_no_ticket_write_no_row(workflow, requester):
    # The workflow has no queue: the request waits in Mandate's own inbox.
    assert write_request(workflow, requester).state == "pending"
    assert not OutboxMessage.objects.exists()


def test_the_same_idempotency_key_is_one_row():
    with transaction.atomic():
        first = enqueue("ticket.comment", {"x": 1}, key="same")
        again = enqueue("ticket.comment", {"x": 2}, key="same")
    assert first.pk == again.pk and OutboxMessage.objects.count() == 1


@pytest.mark.parametrize("ticket_system", ["rt", "github"], indirect=True)
def test_500s_and_timeouts_back_off_and_end_in_exactly_one_ticket(ticket_system, workflow, requester):
    connect(workflow, ticket_system)
    ticket_system.inject("500")
    ticket_system.inject_on_create("timeout", "lost")
    request = write_request(workflow, requester)
    message = OutboxMessage.objects.get(topic="ticket.open")
    delays = []
    now = timezone.now()
    for _ in range(6):
        with time_machine.travel(now, tick=False):
            relay(now=now)
        message.refresh_from_db()
        if message.delivered_at:
            break
        assert message.last_error and message.failed_at is None
        delays.append((message.next_attempt_at - now).total_seconds())
        now = message.next_attempt_at + timedelta(seconds=1)
    assert message.delivered_at is not None and message.attempts == 4
    assert 27 <= delays[0] <= 33 and 54 <= delays[1] <= 66 and 108 <= delays[2] <= 132  # 30 s, doubling
    link = TicketLink.objects.get(request=request)
    assert ticket_system.tickets() == [link.external_key]


@pytest.mark.parametrize("ticket_system", ["jira"], indirect=True)
def test_a_permanent_error_is_recorded_shown_and_the_request_stays_decidable(
    ticket_system, workflow, requester, owner, monkeypatch
):
    queue = connect(workflow, ticket_system)
    monkeypatch.setenv("MANDATE_TEST_REVOKED_TOKEN", "revoked-token-value")
    queue.credential_ref = "env:MANDATE_TEST_REVOKED_TOKEN"
    queue.save()
    request = write_request(workflow, requester)
    assert relay() == {"failed": 1}
    message = OutboxMessage.objects.get(topic="ticket.open")
    assert message.failed_at is not None and message.attempts == 1
    assert "401" in message.last_error and "revoked-token-value" not in message.last_error
    queue.refresh_from_db()
    assert "401" in queue.last_error and "revoked-token-value" not in queue.last_error
    assert ticket_system.tickets() == []
    # The owner still decides in the portal; closing mirrors nothing to a ticket never opened.
    assert decide(request, approver=owner, decision="approve", channel="browser").state == "approved"
    deliver_all()
    assert not OutboxMessage.objects.filter(failed_at__isnull=True, delivered_at__isnull=True).exists()


def test_an_unknown_topic_fails_for_good():
    with transaction.atomic():
        enqueue("nobody.handles.this", {}, key="orphan")
    assert relay() == {"failed": 1}
    assert "No handler" in OutboxMessage.objects.get().last_error


def test_a_row_locked_by_another_relay_is_skipped_not_waited_for():
    require_service(connection.vendor == "postgresql", "PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED)")
    with transaction.atomic():
        busy = enqueue("ticket.comment", {}, key="busy")
        free = enqueue("ticket.comment", {}, key="free")
    locked, release = threading.Event(), threading.Event()

    def other_relay():
        with transaction.atomic():
            OutboxMessage.objects.select_for_update().get(pk=busy.pk)
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_relay)
    thread.start()
    try:
        assert locked.wait(10)
        assert claim(limit=10) == [free.pk]  # returns at once, without the locked row
    finally:
        release.set()
        thread.join()
    assert claim(limit=10, now=timezone.now() + timedelta(hours=1)) == [busy.pk, free.pk]


def test_a_claimed_row_is_leased_so_a_second_relay_leaves_it_alone():
    with transaction.atomic():
        message = enqueue("ticket.comment", {}, key="leased")
    assert claim() == [message.pk]
    assert claim() == []
    message.refresh_from_db()
    assert message.attempts == 1 and message.next_attempt_at > timezone.now() + timedelta(minutes=4)


@pytest.mark.parametrize("ticket_system", ["github"], indirect=True)
def test_an_auto_approved_request_opens_no_ticket(ticket_system, workflow, requester):
    connect(workflow, ticket_system)
    read = factories.PolicyFactory(
        workflow=workflow, entitlement=factories.EntitlementFactory(scope="github:repo:read"), max_ttl_seconds=3600
    )
    request = submit_request(
        workflow=workflow,
        entitlement=read.entitlement,
        duration_seconds=600,
        requested_by=requester,
        task_ref="PLAT-1",
        justification="Read the code",
    )
    assert request.state == "approved"
    assert not OutboxMessage.objects.filter(topic="ticket.open").exists()
