"""Evidence batching: `record()` puts an event in memory and returns; a background thread
sends batches (up to the API's 1,000 events a call) every `interval` seconds or as soon as
a batch is full, retries what failed for a transient reason, and `close()` — also run at
interpreter exit — sends what is left.

The agent is never held up longer than `budget` seconds by `record()`: only when the
buffer is full does it wait, at most that long, for the sender to make room; past that
the event is dropped, counted in `dropped` and logged. A refused batch (400) drops only
the events Mandate named as invalid and sends the rest again.

Each batch carries an `Idempotency-Key`, and a batch that failed for a transient reason
is sent again as the same events with the same key: if the first attempt was recorded
after all (its answer was lost), Mandate answers with those records and records nothing
twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from typing import Any

from .errors import BadRequest, MandateError, PermissionDenied
from .http import Http

logger = logging.getLogger("mandate_client")

API_MAX_BATCH = 1000


class EvidenceBuffer:
    def __init__(
        self,
        http: Http,
        *,
        budget: float = 0.05,
        interval: float = 1.0,
        max_batch: int = 500,
        max_buffer: int = 10_000,
    ) -> None:
        self.http = http
        self.budget = budget
        self.interval = interval
        self.max_batch = max(1, min(max_batch, API_MAX_BATCH))
        self.max_buffer = max_buffer
        self.sent = 0
        self.dropped = 0
        self._events: deque[dict[str, Any]] = deque()
        self._in_flight = 0
        self._lock = threading.Condition()
        self._closing = False
        self._urgent = False
        # (key, size) of the batch at the front of `_events` that failed and is sent again.
        self._retry: tuple[str, int] | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ agent side
    def add(self, event: dict[str, Any]) -> bool:
        """Queue one event; False when it had to be dropped (buffer full past the budget)."""
        deadline = time.monotonic() + self.budget
        with self._lock:
            if self._closing:
                raise RuntimeError("The evidence buffer is closed.")
            while len(self._events) >= self.max_buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.dropped += 1
                    logger.warning(
                        "Evidence buffer full (%d events): dropped one %s event", self.max_buffer, event.get("kind")
                    )
                    return False
                self._lock.notify_all()
                self._lock.wait(remaining)
            self._events.append(event)
            if len(self._events) >= self.max_batch:
                self._lock.notify_all()
        self._ensure_thread()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far has been sent (or dropped); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._urgent = bool(self._events)
            self._lock.notify_all()
            while self._events or self._in_flight:
                if self._thread is None or not self._thread.is_alive():
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(remaining if remaining is not None else 0.5)
            return not self._events and not self._in_flight

    def close(self, timeout: float | None = 30.0) -> bool:
        """Send what is left and stop the sender; True when nothing was left unsent."""
        self.flush(timeout)
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            left = len(self._events)
        if left:
            logger.error("%d evidence events could not be sent to Mandate before exit", left)
        return left == 0

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._events) + self._in_flight

    # ------------------------------------------------------------------ sender thread
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mandate-evidence", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        failures = 0
        while True:
            with self._lock:
                while not self._events and not self._closing:
                    self._lock.wait(self.interval)
                if not self._events:
                    return
                if len(self._events) < self.max_batch and not (self._closing or self._urgent or failures):
                    # Let a partial batch fill up for one interval (flush() and close() cut this short).
                    self._lock.wait(self.interval)
                key, size = self._retry or (uuid.uuid4().hex, min(self.max_batch, len(self._events)))
                batch = [self._events.popleft() for _ in range(size)]
                self._in_flight = len(batch)
                if not self._events:
                    self._urgent = False
                self._lock.notify_all()
            try:
                resend = self._send(batch, key)
            except MandateError as exc:
                self._retry = (key, len(batch))
                failures += 1
                wait = min(30.0, 0.5 * 2**failures)
                logger.warning("Evidence not sent (%s); %d events kept, retrying in %.1f s", exc, len(batch), wait)
                with self._lock:
                    self._events.extendleft(reversed(batch))
                    self._in_flight = 0
                    self._lock.notify_all()
                    if self._closing and failures > 3:
                        return
                    self._lock.wait(wait)
                continue
            self._retry = None
            failures = 0
            with self._lock:
                self._events.extendleft(reversed(resend))
                self._in_flight = 0
                self._lock.notify_all()

    def _send(self, batch: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        """Send one batch; returns the events to send again (the valid rest of a refused batch)."""
        try:
            self.http.call(
                "POST", "/api/v1/evidence/", json={"events": batch}, headers={"Idempotency-Key": key}, retry=True
            )
        except BadRequest as exc:
            bad = _invalid_indexes(exc.fields, len(batch))
            for index in sorted(bad):
                logger.error("Mandate refused evidence event %s: %s", batch[index], exc.fields["events"][str(index)])
            self.dropped += len(bad) if bad else len(batch)
            if not bad:
                logger.error("Mandate refused an evidence batch: %s", exc)
            return [event for index, event in enumerate(batch) if bad and index not in bad]
        except PermissionDenied as exc:
            # A suspended workload may report nothing more: keeping the events would only grow.
            self.dropped += len(batch)
            logger.warning("Mandate refused evidence from this key (%s); %d events dropped", exc, len(batch))
            return []
        self.sent += len(batch)
        return []


def _invalid_indexes(fields: dict[str, Any], size: int) -> set[int]:
    events = fields.get("events")
    if not isinstance(events, dict):
        return set()
    return {int(key) for key in events if str(key).isdigit() and int(key) < size}
