"""Redis (cache, rate limits and broker) killed during submissions and authorize calls.

Phases: a fifth of the calls with Redis up, half with Redis dead (killed: its queued
messages are gone, as after a crash without persistence), the rest after it is back,
empty. Nothing answered may be lost, nothing may be a 5xx, no request made twice, and
everything that was to happen later (grant expiry, the outbox) happens once it is back.
"""

import time
from types import SimpleNamespace

from django.utils import timezone

from ..load import Tally, in_parallel
from ..report import info, must_be_zero, must_hold
from ..world import wait_until
from .common import SWEEP_SECONDS, authorize, duplicates, log_mentions, requests_made, submit

NAME = "redis stopped"
PREFIX = "faults-redis-"
LIFETIME = 20


def run(world):
    from approvals.models import Grant, OutboxMessage

    key = world.keys["incident-enricher"]
    submissions, checks = world.scale(100, 1000), world.scale(1000, 10000)
    started = timezone.now()
    # The grant the authorize calls are answered from, made before anything breaks.
    submit(SimpleNamespace(), world.base, key, "faults-authorize", Tally(), duration=8 * 3600)
    sub, auth = Tally(), Tally()
    answered = []

    def one(local, item):
        kind, n = item
        if kind == "authorize":
            return authorize(local, world.base, key, auth)
        outcome, body = submit(local, world.base, key, f"{PREFIX}{n}", sub, duration=LIFETIME)
        if outcome in (200, 201):
            answered.append(body["id"])

    items = [("submit", n) for n in range(submissions)]
    items += [("authorize", n) for n in range(checks)]
    total = len(items)  # (a list being sorted looks empty to its key function)
    items.sort(key=lambda item: (item[1] * 7919) % total)  # interleaved, the same every run
    cut1, cut2 = len(items) // 5, len(items) * 7 // 10
    in_parallel(one, items[:cut1])
    world.redis.stop()
    down_at = time.monotonic()
    in_parallel(one, items[cut1:cut2])
    health = _health(world.base)
    world.redis.start()
    outage = time.monotonic() - down_at
    back_at = timezone.now()
    in_parallel(one, items[cut2:])

    made = set(requests_made(PREFIX).values_list("pk", flat=True))
    grants = Grant.objects.filter(request__task_ref__startswith=PREFIX)
    last_due = max((g.expires_at for g in grants), default=back_at)
    deadline = (max(last_due, back_at) - timezone.now()).total_seconds() + 2 * SWEEP_SECONDS + 15
    ended = wait_until(lambda: not grants.filter(status="active").exists(), max(deadline, 5), step=1)
    outbox = OutboxMessage.objects.filter(created_at__gte=started)
    wait_until(lambda: not outbox.filter(delivered_at__isnull=True, failed_at__isnull=True).exists(), 30, step=1)
    undelivered = outbox.filter(delivered_at__isnull=True).count()
    log = world.out_dir / "gunicorn.log"
    outages, consuming = _flapping(world)
    alive = world.stack.alive()
    return [
        info(NAME, "submissions / authorize calls", f"{submissions:,} / {checks:,}"),
        info(NAME, "Redis down, s", round(outage, 1)),
        must_be_zero(NAME, "submissions answered but lost", len(set(answered) - made)),
        must_be_zero(NAME, "5xx answers (submit + authorize)", sub.count(500, 599) + auth.count(500, 599)),
        must_be_zero(NAME, "connection errors and hangs", sum(sub.errors.values()) + sum(auth.errors.values())),
        must_be_zero(NAME, "requests made twice", duplicates(PREFIX)),
        must_hold(
            NAME,
            "grants ended after Redis came back",
            f"{grants.exclude(status='active').count()}/{grants.count()}",
            ended,
            "all, within two sweeps",
        ),
        must_be_zero(NAME, "outbox messages undelivered after restart", undelivered),
        info(NAME, "authorize allows", auth.statuses[200]),
        info(NAME, "further outages of Redis (2 s each)", outages),
        must_hold(
            NAME,
            "workers and beat still running",
            ", ".join(n for n, ok in alive.items() if not ok) or "all",
            all(alive.values()),
            "all (none exited)",
        ),
        must_hold(NAME, "a worker consumes again afterwards", consuming, consuming, "yes"),
        info(NAME, "/healthz while Redis was down", health),
        info(NAME, "log lines: rate limits per process", log_mentions(log, "falls back to per-process")),
        info(NAME, "log lines: broker unreachable", log_mentions(log, "broker unreachable")),
    ]


def _flapping(world):
    """Redis killed and started a few more times: the workers must reconnect, not exit."""
    from bench.figures import wait_for_worker
    from bench.servers import BenchError

    outages = world.scale(3, 6)
    for _ in range(outages):
        world.redis.stop()
        time.sleep(2)
        world.redis.start()
        time.sleep(1)
    try:
        wait_for_worker(timeout=60)
    except BenchError:
        return outages, False
    return outages, True


def _health(base):
    from ..stack import healthz

    try:
        response = healthz(base)
        body = response.json()
        return f"{response.status_code} {body['status']} ({', '.join(body['failing'])})"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
