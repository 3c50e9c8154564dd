"""The scenarios, in the order they run (the evidence rewrite last: it breaks the chain).

Each takes the `World` and returns its rows; `recover` puts the system back together
between them (a dead process restarted as its supervisor would, Redis and PostgreSQL up).
"""

from ..stack import healthz
from ..world import wait_until
from . import cache_outage, database, evidence, fuzz, tickets, web, workers
from .common import SWEEP_SECONDS

__all__ = ["ALL", "SWEEP_SECONDS", "recover"]

ALL = {
    "redis stopped": cache_outage.run,
    "ticket system failing 30 %": tickets.run_flaky,
    "replayed, forged, reordered webhooks": tickets.run_webhooks,
    "worker SIGKILL mid-sweep + FLUSHALL": workers.run,
    "web process killed mid-request": web.run,
    "PostgreSQL restarted": database.run,
    "schemathesis against the live server": fuzz.run,
    "evidence rewritten as the database owner": evidence.run,
}


def recover(world):
    from django.db import connection

    connection.close()  # this process's own connection may have outlived a database restart
    if world.redis.process is None or world.redis.process.poll() is not None:
        world.redis.start()
    if not world.pg.ready():
        world.pg.start()
    stack = world.stack
    for name, alive in stack.alive().items():
        if alive:
            continue
        print(f"  restarting {name} (as its supervisor would)", flush=True)
        if name == "web":
            stack.start_web()
        elif name == "beat":
            stack.start_beat()
        else:
            stack.start_worker(int(name.removeprefix("worker")))
    wait_until(lambda: _serving(world.base), 60)


def _serving(base):
    try:
        return healthz(base).ok
    except Exception:
        return False
