"""PostgreSQL stopped and started again under a running system.

Callers keep calling `authorize` and `/healthz` throughout. While the database is away
every answer must come quickly and cleanly (503 with Retry-After, the error shape), never
a 500 nor a hang; once it is back the same processes answer again, none restarted.
"""

import threading
import time
from types import SimpleNamespace

from ..load import HANG_SECONDS, Tally, call, session_for
from ..report import info, must_be_zero, must_hold
from .common import authorize

NAME = "PostgreSQL restarted"


def run(world):
    down_for = world.scale(5, 20)
    key = world.keys["incident-enricher"]
    pids_before = (world.stack.web.pid, sorted(world.stack.web_children()))
    tally, health = Tally(), Tally()
    stop = threading.Event()
    timeline = []

    def caller():
        local = SimpleNamespace()
        while not stop.is_set():
            outcome, body = authorize(local, world.base, key, tally)
            timeline.append((time.monotonic(), outcome, (body or {}).get("code") if isinstance(body, dict) else None))
            time.sleep(0.05)

    def prober():
        session = session_for(key)
        while not stop.is_set():
            call(session, "GET", f"{world.base}/healthz", health)
            time.sleep(0.5)

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(4)]
    threads.append(threading.Thread(target=prober, daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(2)
    world.pg.stop("fast")
    stopped_at = time.monotonic()
    time.sleep(down_for)
    world.pg.start()
    started_at = time.monotonic()
    time.sleep(world.scale(10, 20))
    stop.set()
    for thread in threads:
        thread.join(timeout=HANG_SECONDS + 5)
    during = [outcome for at, outcome, _ in timeline if stopped_at <= at <= started_at]
    after_ok = [at for at, outcome, _ in timeline if at > started_at and outcome == 200]
    recovered = round(after_ok[0] - started_at, 1) if after_ok else None
    unavailable_shaped = sum(1 for at, outcome, code in timeline if outcome == 503 and code == "unavailable")
    same_processes = world.stack.web.poll() is None and world.stack.web.pid == pids_before[0]
    return [
        info(NAME, "database down, s", down_for),
        info(NAME, "authorize calls / during the outage", f"{len(timeline)} / {len(during)}"),
        info(NAME, "503 answers (error shape, Retry-After)", f"{tally.statuses[503]} ({unavailable_shaped})"),
        must_be_zero(NAME, "5xx other than 503", tally.server_errors + health.server_errors),
        must_be_zero(NAME, f"hangs (answers slower than {HANG_SECONDS} s)", tally.hangs + health.hangs),
        must_be_zero(NAME, "connection errors", sum(tally.errors.values())),
        must_hold(NAME, "seconds to the first 200 after restart", recovered, recovered is not None, "recovers"),
        must_hold(NAME, "same gunicorn master, no restart", same_processes, same_processes, "yes"),
        info(NAME, "/healthz answers: 503 down / 200", f"{health.statuses[503]} / {health.statuses[200]}"),
        info(NAME, "processes alive after it", ", ".join(n for n, ok in world.stack.alive().items() if ok)),
    ]
