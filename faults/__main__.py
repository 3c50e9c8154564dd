"""`python -m faults [--quick] [--only NAME…]`: run the fault scenarios, print a summary table.

Everything it breaks is its own: a PostgreSQL cluster in a temporary directory
(FAULTS_PG_PORT, default 5440, database mandate_faults), a redis-server (FAULTS_REDIS_PORT,
default 6390), gunicorn on FAULTS_PORT (default 8400) with 2 processes, 2 Celery workers and
beat; the ticket system is the shared Request Tracker behind a fault proxy (the first free
of ten ports from FAULTS_PROXY_PORT, default FAULTS_PORT + 40), so two runs with other
ports can coexist. As in production (docs/operations.md, two roles) the database belongs to
mandate_owner, which migrates (bin/migrate), and every process of the stack, this one
included, connects as mandate_app. Exits non-zero when an invariant fails (something lost,
a 5xx, a duplicate, an accepted forgery) or something errors; slow figures are reported,
never fatal.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("FAULTS_PORT", "8400"))
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5440"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6390"))
PROXY_PORT = int(os.environ.get("FAULTS_PROXY_PORT", str(PORT + 40)))
PROXY_PORTS = range(PROXY_PORT, PROXY_PORT + 10)
DATABASE, OWNER, APP = "mandate_faults", "mandate_owner", "mandate_app"


def configure(pg, rt_token, proxy_url):
    from bench.servers import own_evidence_trail

    from .stack import FaultsError
    from .world import RT_WEBHOOK_SECRET

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "governance.settings",
            "DATABASE_URL": pg.url(DATABASE, APP),
            "MIGRATE_DATABASE_URL": pg.url(DATABASE, OWNER),
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
            "DEBUG": "false",
            "MANDATE_DEMO": "true",
            "SECRET_KEY": "faults-only-secret-key-" + "0123456789" * 5,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "API_AUTHORIZE_THROTTLE_RATE": "100000000/min",
            "API_THROTTLE_RATE": "100000000/min",
            # Retries of a failed ticket call come after seconds, not minutes, so a run sees them.
            "OUTBOX_BACKOFF_BASE_SECONDS": "2",
            "OUTBOX_BACKOFF_MAX_SECONDS": "8",
            "MANDATE_DEMO_RT_URL": proxy_url,
            "MANDATE_DEMO_RT_TOKEN": rt_token,
            "MANDATE_DEMO_RT_WEBHOOK_SECRET": RT_WEBHOOK_SECRET,
            **own_evidence_trail("faults"),
        }
    )
    import psycopg

    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    pg.make_roles(DATABASE, OWNER, APP)
    # Migrations as the owner, then the app role's grants: what a release does.
    migrated = subprocess.run(
        [str(ROOT / "bin" / "migrate")], cwd=ROOT, env={**os.environ, "PY": sys.executable}, check=False
    )
    if migrated.returncode != 0:
        raise FaultsError(f"bin/migrate exited with {migrated.returncode}")
    import django

    django.setup()


def start_rt():
    """The shared Request Tracker and its root token, or (None, "") when it cannot run."""
    from tests.peers import rt_server

    started = rt_server.start()
    if started is None:
        return None, ""
    rt = rt_server.RtAdmin(*started)
    return rt, rt.token


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make faults")
    parser.add_argument("--quick", action="store_true", help="a few minutes in all (CI)")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    args = parser.parse_args(argv)

    from tests.peers.faults import FaultProxy

    from .report import Row, print_rows, render
    from .stack import FaultsError, Postgres, RedisServer, Stack
    from .world import World

    out_dir = ROOT / "var" / "faults"
    out_dir.mkdir(parents=True, exist_ok=True)
    for old_log in out_dir.glob("*.log"):  # the figures count log lines of this run only
        old_log.unlink()
    started = time.monotonic()
    pg = Postgres(PG_PORT)
    redis_server = RedisServer(REDIS_PORT, out_dir / "redis.log")
    stack = proxy = None
    rows = []
    try:
        pg.init()
        redis_server.start()
        rt, rt_token = start_rt()
        proxy = FaultProxy(rt.url if rt else "http://127.0.0.1:9", ports=PROXY_PORTS, hold_seconds=4).__enter__()
        configure(pg, rt_token, proxy.url)
        from django.core.management import call_command

        from . import scenarios
        from .world import issue_keys, set_interval

        call_command("load_demo", "--quiet")
        set_interval("approvals.relay_outbox", 2)
        set_interval("approvals.expire_due_grants", scenarios.SWEEP_SECONDS)
        stack = Stack(PORT, out_dir, redis_server).start()
        world = World(args.quick, out_dir, pg, redis_server, stack, proxy, rt, issue_keys())
        for name, scenario in scenarios.ALL.items():
            if args.only and name not in args.only:
                continue
            print(f"\n== {name}", flush=True)
            began = time.monotonic()
            try:
                found = scenario(world)
            except Exception as exc:  # a scenario that errors fails the run, the others still run
                traceback.print_exc()
                found = [Row(name, f"errored: {type(exc).__name__}: {exc}"[:160], "error", False, "no error")]
            found.append(Row(name, "seconds", round(time.monotonic() - began)))
            print_rows(found)
            rows += found
            scenarios.recover(world)
    except FaultsError as exc:
        print(f"make faults: {exc}", file=sys.stderr)
        return 1
    finally:
        if stack:
            stack.stop()
        if proxy:
            proxy.__exit__(None, None, None)
        redis_server.stop()
        pg.destroy()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    title = f"Mandate faults ({'quick' if args.quick else 'full'}, {when}, {round(time.monotonic() - started)} s)"
    table = render(rows, title)
    (out_dir / "latest.md").write_text(table + "\n")
    (out_dir / "latest.json").write_text(json.dumps([row.__dict__ for row in rows], default=str, indent=2) + "\n")
    print("\n" + table)
    failed = [row for row in rows if row.invariant is False]
    print(f"\n{len(failed)} invariant(s) failed" if failed else "\nevery invariant holds")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
