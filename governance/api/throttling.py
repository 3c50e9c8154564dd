"""Rate limits per caller: per workload or person (whichever of their keys, tokens or
session they use), else per client address; and failed machine credentials per address
(`failed_credentials_wait`: API keys, SCIM tokens, webhook signatures), with growing
waits and a lockout kept in PostgreSQL by `identities.signin`.

A fixed-window counter, atomic and shared by every process, in Redis when `REDIS_URL`
is set: each request gets a slot number in its caller's window, and only slots up to the
limit pass, so no window ever admits more than the limit. A process takes its slots a
block at a time (`INCRBY` and `EXPIRE … NX` in one pipeline, one round trip per block;
a block is 1/200 of the limit, at most 100, one slot for small limits): the check runs
before every tool call, and a round trip per call cost more than the check's own work.
The price: slots a process took but did not use are lost to the window, so a caller
spread over many processes may be refused up to a block per process early. Without
Redis (the embedded default), or while Redis cannot be reached, a counter in the
process's memory takes over: a Redis outage never fails a request, it only makes the limit per process
for a while (logged once per outage). Over the limit: 429 with `Retry-After`.

The rates are read from settings on each request, so they can be overridden.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from governance.metrics.instruments import credential_refused
from identities.models import ApiKey
from identities.signin import client_address, credentials_block, record_credentials_burst

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400}
# After a failed Redis call the local counter is used for this long before Redis is tried again.
REDIS_RETRY_SECONDS = 5
REDIS_TIMEOUT_SECONDS = 0.25
# Slots taken from Redis at once: this fraction of the limit, at most BLOCK_MAX.
BLOCK_FRACTION = 200
BLOCK_MAX = 100


def parse_rate(rate):
    """'600/min' → (600, 60). Raises ValueError on anything else."""
    count, _, period = str(rate).partition("/")
    seconds = PERIODS.get(period.strip().lower())
    if not count.strip().isdigit() or seconds is None:
        raise ValueError(f"Rate limit “{rate}”: use “<requests>/<s|min|hour|day>”, e.g. “600/min”.")
    return int(count), seconds


class LocalCounter:
    """Fixed windows in this process's memory: the fallback, and the embedded default."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}

    def hit(self, key, window):
        with self._lock:
            if len(self._counts) > 10_000:  # drop finished windows now and then
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= time.time() // k[2]}
            slot = (key, int(time.time() // window), window)
            self._counts[slot] = self._counts.get(slot, 0) + 1
            return self._counts[slot]


class RedisCounter:
    """Fixed windows in Redis: one pipeline (INCR, EXPIRE NX) per request, atomic across processes."""

    def __init__(self, url):
        self.url = url
        self._client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._down_until = 0.0
        self._lock = threading.Lock()
        # key → [window index, next slot, last slot] of the block this process holds.
        self._blocks = {}

    @property
    def available(self):
        return time.monotonic() >= self._down_until

    def slot(self, key, window, limit):
        """This request's slot in the current window (it passes if ≤ `limit`); raises redis.RedisError."""
        block = min(BLOCK_MAX, limit // BLOCK_FRACTION)
        if block <= 1:
            return self.hit(key, window)
        index = int(time.time() // window)
        with self._lock:
            held = self._blocks.get(key)
            if held is not None and held[0] == index:
                if held[1] <= held[2]:
                    held[1] += 1
                    return held[1] - 1
                if held[2] >= limit:
                    return held[2] + 1  # the window is used up: slots only grow, no need to ask
        last = self.hit(key, window, amount=block)
        with self._lock:
            if len(self._blocks) > 10_000:  # drop finished windows now and then
                self._blocks = {k: v for k, v in self._blocks.items() if v[0] >= index}
            self._blocks[key] = [index, last - block + 2, last]
        return last - block + 1

    def hit(self, key, window, amount=1):
        """The count in the current window after adding `amount`; raises redis.RedisError on failure."""
        name = f"mandate:rl:{key}:{int(time.time() // window)}"
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.incrby(name, amount)
            pipe.expire(name, window + 1, nx=True)
            count, _ = pipe.execute()
        except Exception:
            if self.available:
                logger.warning(
                    "rate limiting falls back to per-process counters: Redis at %s is unreachable",
                    self.url.rsplit("@", 1)[-1],
                    exc_info=True,
                )
            self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
            raise
        if self._down_until:
            logger.warning("rate limiting is shared through Redis again")
            self._down_until = 0.0
        return count


_local = LocalCounter()
_redis = {}


def forget_local_counts():
    """Start the in-process counters afresh (tests; ids repeat between them)."""
    global _local
    _local = LocalCounter()


def count_hit(key, window, limit=None):
    """Count one request against `key` in the current `window`; return its number in the window.

    With `limit`, Redis hands out slots a block at a time (see the module's docstring).
    """
    url = getattr(settings, "RATE_LIMIT_REDIS_URL", "") or ""
    if url:
        counter = _redis.get(url)
        if counter is None:
            counter = _redis[url] = RedisCounter(url)
        if counter.available:
            try:
                return counter.slot(key, window, limit) if limit else counter.hit(key, window)
            except Exception:  # noqa: S110 (logged in hit; the request goes on with the local counter)
                pass
    return _local.hit(key, window)


class PerKeyThrottle(BaseThrottle):
    scope = "api"
    setting = "API_THROTTLE_RATE"

    def caller(self, request):
        # Per holder, not per key: a person or workload with more keys gets no more budget.
        if isinstance(request.auth, ApiKey):
            key = request.auth
            return f"workload:{key.workload_id}" if key.workload_id is not None else f"user:{key.user_id}"
        if isinstance(request.auth, dict) and request.auth.get("jti"):
            # A grant token: count against the workload it was issued to.
            return f"workload:{request.user.workload.pk}"
        if request.user and request.user.is_authenticated and request.user.pk is not None:
            return f"user:{request.user.pk}"
        return f"addr:{client_address(request)}"

    def allow_request(self, request, view):
        limit, self.window = parse_rate(getattr(settings, self.setting))
        count = count_hit(f"{self.scope}:{self.caller(request)}", self.window, limit)
        return count <= limit

    def wait(self):
        # Fixed windows: the caller may try again when the current window ends.
        return window_end(self.window)


class AuthorizeThrottle(PerKeyThrottle):
    """The authorization check runs before every tool call: a separate, larger budget."""

    scope = "authorize"
    setting = "API_AUTHORIZE_THROTTLE_RATE"


def window_end(window):
    """Seconds until the current fixed window of `window` seconds ends (at least 1)."""
    return max(1, int(window - time.time() % window + 0.999))


@dataclass(frozen=True)
class CredentialRefusal:
    """Failing credentials from an address are refused without being counted or examined:
    for `seconds` (a 429 with Retry-After), or, when `seconds` is None, until an
    administrator lifts the lock (a 403: no wait would end it)."""

    seconds: int | None

    @property
    def locked(self):
        return self.seconds is None

    @property
    def status(self):
        return 403 if self.locked else 429

    @property
    def message(self):
        if self.locked:
            return (
                "Too many failed credentials from this address: it is locked for failing credentials "
                "until an administrator lifts the lock. Valid credentials still work."
            )
        return f"Too many failed credentials from this address; try again in {self.seconds} seconds."


def failed_credentials_wait(request, surface):
    """A machine credential failed at `surface` (an API key, a SCIM token, a webhook
    signature: `identities.choices.CredentialSurface`). Every door counts against the same
    address, so an address refused at one cannot keep guessing at another.

    None: the failure was counted and is answered as a plain failure (401). Otherwise the
    `CredentialRefusal` in force: a lock or wait recorded in PostgreSQL (read first, so a
    Redis outage forgets nothing), or one this failure has just earned by going over
    `API_AUTH_FAILURE_RATE` in the counter's window (Redis, or the per-process fallback:
    the fast path, written to PostgreSQL once per burst).
    """
    refusal = _credentials_refusal(client_address(request), surface, timezone.now())
    credential_refused(surface, refusal)
    return refusal


def _credentials_refusal(address, surface, now):
    row = credentials_block(address, now=now)
    if row is None:
        limit, window = parse_rate(settings.API_AUTH_FAILURE_RATE)
        count = count_hit(f"authfail:addr:{address}", window)
        if count <= limit:
            return None
        row = record_credentials_burst(address, surface, count, window, now=now)
    if row.is_locked(now):
        return CredentialRefusal(None if row.locked_until is None else _seconds_until(row.locked_until, now))
    return CredentialRefusal(_seconds_until(row.blocked_until, now))


def _seconds_until(moment, now):
    return max(1, math.ceil((moment - now).total_seconds()))
