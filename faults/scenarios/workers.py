"""Both workers SIGKILLed while the sweeper ends a backlog of due grants, then FLUSHALL.

Thousands of grants come due at once (made at SQL speed, as `make bench` does). As soon
as the first batch has ended, every worker is killed (the sweep's transaction dies with
it) and Redis is flushed (the ETA tasks and the beat messages are gone). The workers come
back as their supervisor would restart them; every due grant must be ended within two
sweeps, and meanwhile no authorize call may allow a grant past its `expires_at`.
"""

import threading
import time
from datetime import timedelta

from django.utils import timezone

from bench.data import copy_grants
from bench.figures import check_time_enforcement

from ..report import info, must_be_zero, must_hold
from ..world import wait_until
from .common import SWEEP_SECONDS

NAME = "worker SIGKILL mid-sweep + FLUSHALL"


def run(world):
    from approvals.models import Grant

    due = world.scale(15_000, 60_000)
    template = Grant.objects.filter(request__task_ref="faults-authorize").first()
    if template is None:
        return [must_hold(NAME, "a grant to copy", "none", False, "one")]
    before = set(Grant.objects.values_list("pk", flat=True))
    expires_at = timezone.now() + timedelta(seconds=3)
    copy_grants(template, due, expires_at=expires_at)
    backlog = Grant.objects.filter(expires_at=expires_at).exclude(pk__in=before)
    enforcement = {}
    checker = threading.Thread(
        target=lambda: enforcement.update(check_time_enforcement(world.base, world.keys["incident-enricher"])),
        daemon=True,
    )
    checker.start()
    started = wait_until(lambda: backlog.exclude(status="active").exists(), SWEEP_SECONDS * 3 + 10, step=0.05)
    ended_before_kill = backlog.exclude(status="active").count()
    for n in range(len(world.stack.workers)):
        world.stack.kill_worker(n)
    world.redis.flushall()
    killed_at = time.monotonic()
    for n in range(len(world.stack.workers)):
        world.stack.start_worker(n)
    ended = wait_until(lambda: not backlog.filter(status="active").exists(), 2 * SWEEP_SECONDS + 20, step=0.5)
    took = time.monotonic() - killed_at
    checker.join(timeout=30)
    return [
        info(NAME, "due grants / ended before the kill", f"{due:,} / {ended_before_kill:,}"),
        info(NAME, "the kill came mid-sweep", bool(started) and ended_before_kill < due),
        must_hold(
            NAME,
            "due grants left active after two sweeps",
            backlog.filter(status="active").count(),
            ended,
            f"0 (sweeps every {SWEEP_SECONDS} s)",
        ),
        info(NAME, "seconds from the kill to the last grant ended", round(took, 1)),
        must_be_zero(NAME, "allowed after expires_at", enforcement.get("late_allows", "not measured")),
    ]
