"""Sending Celery tasks from a state change: after commit, and never at the request's cost.

A task sent by a service is a nudge (relay the outbox now, expire this grant at its
time): the periodic jobs do the same work anyway. So a broker that cannot be reached
must not fail the request, nor slow it down: a failed send is logged, and for
`BROKER_RETRY_SECONDS` afterwards this process does not try again (one warning per
outage, one line when sending works again). The outbox and the sweeper catch up.
"""

import logging
import threading
import time

from celery import signature
from django.db import transaction

logger = logging.getLogger("governance.dispatch")

BROKER_RETRY_SECONDS = 10
# One quick retry for a blip; a broker that is really away is left to the periodic jobs.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

_down = {"until": 0.0, "since": None}
_lock = threading.Lock()


def broker_reachable_recently():
    """False while sends are being skipped after a failure (for /healthz and tests)."""
    return time.monotonic() >= _down["until"]


def send(name, *, args=(), catch_up, **options):
    """Send task `name` now; on failure log what catches up (`catch_up`) and return False."""
    if not broker_reachable_recently():
        return False
    try:
        signature(name, args=args).apply_async(retry_policy=PUBLISH_RETRY_POLICY, **options)
    except Exception as exc:
        with _lock:
            first = _down["since"] is None
            _down["until"] = time.monotonic() + BROKER_RETRY_SECONDS
            _down["since"] = _down["since"] or time.time()
        if first:
            logger.warning(
                "broker unreachable: tasks are not sent for now (%s); %s",
                f"{type(exc).__name__}: {exc}"[:200],
                catch_up,
            )
        return False
    if _down["since"] is not None:
        with _lock:
            outage, _down["since"] = _down["since"], None
        if outage:
            logger.warning("broker reachable again after %.0f s; tasks are sent again", time.time() - outage)
    return True


def send_on_commit(name, *, args=(), catch_up, **options):
    """`send` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(name, args=args, catch_up=catch_up, **options))


def forget_outage():
    """Try the broker again at the next send (tests)."""
    _down.update(until=0.0, since=None)
