"""The transactional outbox: side effects that must not be lost between the DB and the world.

`enqueue` writes a row in the caller's transaction (a receiver of a domain signal, a
service). The relay claims due rows with `SELECT … FOR UPDATE SKIP LOCKED`, pushes their
next attempt out by a lease and commits at once, then delivers each row *outside* any
transaction (ticket systems are slow). A worker that dies mid-delivery leaves the row to
be claimed again when the lease runs out; handlers are idempotent (the ticket adapter
looks for an existing ticket before creating one), so a second delivery does no harm.
"""

import logging
import random
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxMessage
from .tickets import TicketError

log = logging.getLogger("approvals.outbox")

HANDLERS = {}
FAILURE_HOOKS = {}

BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
MAX_ATTEMPTS = 12  # about nine hours of retrying before a transient error counts as permanent
LEASE = timedelta(minutes=5)


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


def _nudge_relay():
    from .queue_tasks import relay_outbox

    try:
        relay_outbox.delay()
    except Exception:  # a broker outage only delays delivery: the periodic relay runs anyway
        log.warning("could not queue the outbox relay; the periodic job will deliver", exc_info=True)


def backoff_seconds(attempts):
    """Exponential backoff with ±10 % jitter, so retries of many rows spread out."""
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return delay * random.uniform(0.9, 1.1)


def claim(limit=50, now=None):
    """Claim up to `limit` due rows for this worker; returns their ids."""
    now = now or timezone.now()
    with transaction.atomic():
        due = OutboxMessage.objects.filter(
            delivered_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        OutboxMessage.objects.filter(id__in=ids).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    return ids


def deliver(message_id):
    """Deliver one claimed row; returns "delivered", "retry" or "failed"."""
    message = OutboxMessage.objects.filter(pk=message_id, delivered_at__isnull=True, failed_at__isnull=True).first()
    if message is None:
        return "gone"
    func = HANDLERS.get(message.topic)
    try:
        if func is None:
            raise TicketError(f"No handler for outbox topic “{message.topic}”.", permanent=True)
        func(message.payload)
    except TicketError as exc:
        return _record_failure(message, exc.message, permanent=exc.permanent)
    except Exception as exc:  # a bug or an unexpected library error: retry, then give up loudly
        log.exception("outbox message %s (%s) raised", message.pk, message.topic)
        return _record_failure(message, f"{type(exc).__name__}: {exc}", permanent=False)
    OutboxMessage.objects.filter(pk=message.pk).update(delivered_at=timezone.now(), last_error="")
    return "delivered"


def _record_failure(message, error, *, permanent):
    now = timezone.now()
    if permanent or message.attempts >= MAX_ATTEMPTS:
        OutboxMessage.objects.filter(pk=message.pk).update(failed_at=now, last_error=error[:2000])
        log.warning("outbox message %s (%s) failed for good: %s", message.pk, message.topic, error)
        hook = FAILURE_HOOKS.get(message.topic)
        if hook:
            try:
                hook(message.payload, error)
            except Exception:
                log.exception("failure hook of %s raised", message.topic)
        return "failed"
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=now + timedelta(seconds=backoff_seconds(message.attempts)), last_error=error[:2000]
    )
    log.info("outbox message %s (%s) will be retried: %s", message.pk, message.topic, error)
    return "retry"


def relay(limit=50, now=None):
    """Claim and deliver one batch; returns a small summary {outcome: count}."""
    from . import ticket_flow  # noqa: F401  (registers the ticket handlers)

    summary = {}
    for message_id in claim(limit=limit, now=now):
        outcome = deliver(message_id)
        summary[outcome] = summary.get(outcome, 0) + 1
    return summary


def retry_now(ids):
    """Make undelivered rows due again (a failed row gets a fresh set of attempts)."""
    return OutboxMessage.objects.filter(pk__in=list(ids), delivered_at__isnull=True).update(
        next_attempt_at=timezone.now(), failed_at=None, attempts=0
    )
