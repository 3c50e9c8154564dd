"""A broker that cannot be reached costs a state change nothing: the send is logged once,
skipped for a while, and the outbox and the sweeper catch up (governance/dispatch.py)."""

import logging
import time

import pytest

from governance import dispatch


@pytest.fixture
def broker_away():
    from governance.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    app.pool.force_close_all()
    dispatch.forget_outage()
    yield
    app.conf.broker_url = old
    app.pool.force_close_all()
    dispatch.forget_outage()


def test_a_failed_send_is_logged_once_and_then_skipped_quickly(broker_away, caplog):
    caplog.set_level(logging.WARNING, logger="governance.dispatch")
    assert dispatch.send("approvals.relay_outbox", catch_up="the periodic relay delivers") is False
    started = time.monotonic()
    for _ in range(50):
        assert dispatch.send("approvals.relay_outbox", catch_up="the periodic relay delivers") is False
    assert time.monotonic() - started < 0.1
    warnings = [r.getMessage() for r in caplog.records if r.name == "governance.dispatch"]
    assert len(warnings) == 1 and "broker unreachable" in warnings[0] and "periodic relay" in warnings[0]
    assert not dispatch.broker_reachable_recently()


@pytest.mark.django_db
def test_an_auto_approved_request_succeeds_without_a_broker(
    broker_away, workflow, agent, requester, django_capture_on_commit_callbacks
):
    from approvals.choices import RequestState
    from approvals.services import submit_request
    from tests import factories

    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as sent:
        request = submit_request(
            workflow=workflow,
            entitlement=entitlement,
            duration_seconds=600,
            workload=agent,
            on_behalf_of=requester,
            task_ref="broker-away",
            justification="The broker is away",
        )
    assert request.state == RequestState.APPROVED and request.grant.pk
    assert sent, "the expiry task was to be sent on commit"
    assert time.monotonic() - started < 5


@pytest.fixture
def detached_channel():
    """A worker's channel after its connection to Redis was lost and collected (kombu 5.7)."""
    from kombu import Connection

    import governance.celery  # noqa: F401 (installs the guard)
    from tests.conftest import require_service
    from tests.workers import TEST_REDIS_URL, redis_available

    require_service(redis_available(), "Redis (TEST_REDIS_URL)")
    connection = Connection(TEST_REDIS_URL)
    channel = connection.default_channel
    channel.qos._delivered["tag-1"] = channel.prepare_message("{}")  # a task not yet acknowledged
    channel._pool = None  # dropped with the lost connection
    connection._transport.client = None  # what Connection.collect() leaves behind
    yield connection, channel
    channel.qos._delivered.clear()  # nothing left for kombu to restore when it is collected


def test_closing_a_detached_channel_with_unacknowledged_tasks_does_not_crash_the_worker(detached_channel):
    """Restoring the messages through the detached transport raised AttributeError and the
    worker exited on an "Unrecoverable error"; now the close goes on (governance/celery.py)."""
    connection, channel = detached_channel
    connection.maybe_close_channel(channel)
    assert channel.closed


def test_acknowledging_through_a_detached_channel_is_a_connection_error(detached_channel):
    """A task that finishes after the connection was lost acknowledges through the old channel:
    a connection error (logged by Celery, the message returns later), not an AttributeError."""
    import redis

    connection, channel = detached_channel
    channel.connection = None
    with pytest.raises(redis.exceptions.ConnectionError) as raised:
        channel.qos.ack("tag-1")
    assert isinstance(raised.value, connection.connection_errors)
