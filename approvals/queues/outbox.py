"""The transactional outbox: side effects that must not be lost between the DB and the world.

`enqueue` writes a row in the caller's transaction (a receiver of a domain signal, a
service). The relay claims one due row at a time with `SELECT … FOR UPDATE SKIP LOCKED`,
gives it a lease and commits at once, then delivers it *outside* any transaction (ticket
systems are slow). A worker that dies mid-delivery leaves the row to be claimed again when
the lease runs out; handlers are idempotent (the ticket adapter looks for an existing
ticket before creating one), so a second delivery after a crash does no harm.

Two deliveries of one row must never run side by side (both would look, find nothing and
create): the lease starts when the row's own delivery starts, the delivery's remote calls
must finish well inside it (`DELIVERY_BUDGET`), and only the holder of the current lease
may record the outcome.
"""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from approvals.models import OutboxMessage
from approvals.tickets import TicketError
from approvals.tickets.http import time_budget
from governance.dispatch import send
from governance.models.bulk import log_created

log = logging.getLogger("approvals.queues.outbox")

RELAY_TASK = "approvals.relay_outbox"

# Filled by `handler` when the consuming modules are imported by their app's `ready()`.
HANDLERS = {}
FAILURE_HOOKS = {}

# The first retry's delay is OUTBOX_BACKOFF_BASE_SECONDS (30 by default), doubling up to
# OUTBOX_BACKOFF_MAX_SECONDS (an hour).
MAX_ATTEMPTS = 12  # about nine hours of retrying before a transient error counts as permanent
LEASE = timedelta(minutes=5)
# What one delivery's remote calls may take in all; the rest of the lease is slack.
DELIVERY_BUDGET = LEASE - timedelta(minutes=1)


def handler(topic, *, on_failure=None):
    """Register the function that delivers `topic` payloads (and an optional failure hook)."""

    def register(func):
        HANDLERS[topic] = func
        if on_failure:
            FAILURE_HOOKS[topic] = on_failure
        return func

    return register


def enqueue(topic, payload, *, key, delay_seconds=0):
    """Write an outbox row in the current transaction; the same key twice is one row.

    The relay is nudged after commit so delivery is prompt; if that nudge is lost, the
    periodic relay picks the row up anyway.
    """
    message, created = OutboxMessage.objects.get_or_create(
        idempotency_key=key[:200],
        defaults={
            "topic": topic,
            "payload": payload,
            "next_attempt_at": timezone.now() + timedelta(seconds=delay_seconds),
        },
    )
    if created:
        transaction.on_commit(_nudge_relay)
    return message


def enqueue_many(topic, rows, *, delay_seconds=0):
    """`enqueue` for many rows at once: [(payload, key)]; existing keys are skipped.

    One insert, and the new rows' change-log entries (`OutboxMessage.objects.create` would
    have written them one by one) in one more: five statements whatever the count.
    """
    if not rows:
        return
    due = timezone.now() + timedelta(seconds=delay_seconds)
    fresh = {}
    keys = {key[:200] for _, key in rows}
    existing = set(OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    for payload, key in rows:
        if key[:200] not in existing:
            fresh.setdefault(key[:200], payload)
    if not fresh:
        return
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(topic=topic, payload=payload, idempotency_key=key, next_attempt_at=due)
            for key, payload in fresh.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    log_created(OutboxMessage.objects.filter(idempotency_key__in=list(fresh)).order_by("id"))
    transaction.on_commit(_nudge_relay)


def _nudge_relay():
    # By name: the task module wraps this one, so importing it here would close a circle.
    send(RELAY_TASK, catch_up="the periodic relay delivers the outbox when the broker is back")


def backoff_seconds(attempts):
    """Exponential backoff with ±10 % jitter, so retries of many rows spread out."""
    base = settings.OUTBOX_BACKOFF_BASE_SECONDS
    delay = min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_BACKOFF_MAX_SECONDS)
    return delay * random.uniform(0.9, 1.1)


def claim(limit=50, now=None):
    """Lease up to `limit` due rows to this worker; returns their ids.

    The relay claims one row at a time, so a row's lease starts when its delivery does.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = OutboxMessage.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lte=now),
            delivered_at__isnull=True,
            failed_at__isnull=True,
            next_attempt_at__lte=now,
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        OutboxMessage.objects.filter(id__in=ids).update(
            next_attempt_at=now + LEASE, lease_until=now + LEASE, attempts=F("attempts") + 1
        )
    return ids


def deliver(message_id):
    """Deliver one claimed row; returns "delivered", "retry", "failed" or "superseded"."""
    message = OutboxMessage.objects.filter(pk=message_id, delivered_at__isnull=True, failed_at__isnull=True).first()
    if message is None:
        return "gone"
    func = HANDLERS.get(message.topic)
    try:
        if func is None:
            raise TicketError(f"No handler for outbox topic “{message.topic}”.", permanent=True)
        with time_budget(DELIVERY_BUDGET.total_seconds()):
            func(message.payload)
    except TicketError as exc:
        return _record_failure(message, exc.message, permanent=exc.permanent)
    except Exception as exc:  # a bug or an unexpected library error: retry, then give up loudly
        log.exception("outbox message %s (%s) raised", message.pk, message.topic)
        return _record_failure(message, f"{type(exc).__name__}: {exc}", permanent=False)
    if not _ours(message).update(delivered_at=timezone.now(), last_error="", lease_until=None):
        return _superseded(message)
    return "delivered"


def _ours(message):
    """The row, as long as this delivery still holds its lease (the lease is the fencing token)."""
    return OutboxMessage.objects.filter(pk=message.pk, lease_until=message.lease_until)


def _superseded(message):
    log.warning("outbox message %s (%s): the lease ran out during delivery", message.pk, message.topic)
    return "superseded"


def _record_failure(message, error, *, permanent):
    now = timezone.now()
    if permanent or message.attempts >= MAX_ATTEMPTS:
        if not _ours(message).update(failed_at=now, last_error=error[:2000], lease_until=None):
            return _superseded(message)
        log.warning("outbox message %s (%s) failed for good: %s", message.pk, message.topic, error)
        hook = FAILURE_HOOKS.get(message.topic)
        if hook:
            try:
                hook(message.payload, error)
            except Exception:
                log.exception("failure hook of %s raised", message.topic)
        return "failed"
    if not _ours(message).update(
        next_attempt_at=now + timedelta(seconds=backoff_seconds(message.attempts)),
        last_error=error[:2000],
        lease_until=None,
    ):
        return _superseded(message)
    log.info("outbox message %s (%s) will be retried: %s", message.pk, message.topic, error)
    return "retry"


def relay(limit=50, now=None):
    """Claim and deliver up to `limit` due rows, one at a time; returns {outcome: count}."""
    summary = {}
    for _ in range(limit):
        claimed = claim(limit=1, now=now)
        if not claimed:
            break
        outcome = deliver(claimed[0])
        summary[outcome] = summary.get(outcome, 0) + 1
    return summary


def retry_now(ids):
    """Make undelivered rows due again (a failed row gets a fresh set of attempts).

    A row being delivered right now keeps its lease: retrying it now would run a second
    delivery beside the first.
    """
    now = timezone.now()
    return (
        OutboxMessage.objects.filter(pk__in=list(ids), delivered_at__isnull=True)
        .exclude(lease_until__gt=now)
        .update(next_attempt_at=now, failed_at=None, attempts=0, lease_until=None)
    )
