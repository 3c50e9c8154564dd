"""`python -m bench [--quick]`: measure P1–P6 against their references and print one table.

Uses its own PostgreSQL database (BENCH_DATABASE, default mandate_bench, dropped and
re-created), Redis db numbers (BENCH_REDIS_DB 11 for rate limits, BENCH_BROKER_DB 12 for
Celery) and port (BENCH_PORT, default 8350). Exits non-zero only when something errors;
a figure below its goal is reported, not fatal.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configure():
    from .servers import own_evidence_trail

    database = os.environ.get("BENCH_DATABASE", "mandate_bench")
    pg = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    redis = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": f"{pg}/{database}",
            "DATABASE_POOL": os.environ.get("BENCH_DATABASE_POOL", "true"),
            "REDIS_URL": f"{redis}/{os.environ.get('BENCH_REDIS_DB', '11')}",
            "CELERY_BROKER_URL": f"{redis}/{os.environ.get('BENCH_BROKER_DB', '12')}",
            "DEBUG": "false",
            # The demo data (published passwords) loads only in demo mode; nothing else changes.
            "MANDATE_DEMO": "true",
            # A throwaway database, re-created each run: a fixed key lets tools reuse it afterwards.
            "SECRET_KEY": "bench-only-secret-key-" + "0123456789" * 5,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            # Counted on every call (its cost is in the figures) but never reached.
            "API_AUTHORIZE_THROTTLE_RATE": "100000000/min",
            "API_THROTTLE_RATE": "100000000/min",
            **own_evidence_trail("bench"),
        }
    )
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    import django

    django.setup()


def row(name, value, reference, ratio, goal, ok, unit=""):
    return {
        "figure": name,
        "value": value,
        "reference": reference,
        "ratio": ratio,
        "goal": goal,
        "pass": ok,
        "unit": unit,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--quick", action="store_true", help="a few seconds per figure (CI)")
    args = parser.parse_args(argv)
    quick = args.quick
    seconds, rounds = (3, 2) if quick else (10, 5)
    due = 10_000 if quick else 100_000
    configure()

    from django.core.management import call_command

    from . import figures
    from .data import DENIED_SCOPE, SCOPE, WORKFLOW, agent_with_grant, load_demo
    from .reference import create_durable_table
    from .servers import (
        GUNICORN_WORKERS,
        BenchError,
        lua_script,
        start_gunicorn,
        start_worker,
        stop,
        worker_rss_mb,
        wrk,
    )

    port = int(os.environ.get("BENCH_PORT", "8350"))
    base = f"http://127.0.0.1:{port}"
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    server = worker = None
    started = time.monotonic()
    try:
        call_command("migrate", verbosity=0)
        create_durable_table()
        load_demo()
        _, key, grant = agent_with_grant()
        server = start_gunicorn(port, out_dir / "gunicorn.log")
        auth = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        allow_body = json.dumps({"workflow": WORKFLOW, "scope": SCOPE, "task_ref": "bench", "resource": "INC-1"})
        deny_body = json.dumps({"workflow": WORKFLOW, "scope": DENIED_SCOPE, "task_ref": "bench"})
        scripts = {
            "reference": (f"{base}/bench/reference/{grant.workflow_id}", lua_script(allow_body, auth)),
            "durable": (f"{base}/bench/durable-reference/{grant.workflow_id}", lua_script(allow_body, auth)),
            "allow": (f"{base}/api/v1/authorize", lua_script(allow_body, auth)),
            "deny": (f"{base}/api/v1/authorize", lua_script(deny_body, auth)),
        }
        runs = {name: [] for name in scripts}
        for url, script in scripts.values():
            wrk(url, script, seconds=1)  # warm-up
        with figures.Sequencer() as sequencer:  # as beat runs it in production: every second
            for n in range(rounds):
                order = list(scripts) if n % 2 == 0 else list(reversed(scripts))
                for name in order:
                    runs[name].append(wrk(*scripts[name], seconds=seconds))
                print(f"  round {n + 1}/{rounds}: " + ", ".join(f"{k} {runs[k][-1]['rps']:.0f}/s" for k in order))
        time.sleep(3)  # wrk has stopped; let the server finish what was still queued
        answered = sum(run["requests"] for name in ("allow", "deny") for run in runs[name])
        chained = figures.decisions_in_chain(answered)

        def med(name, field):
            return statistics.median(run[field] for run in runs[name])

        ref_rps, ref_p99 = med("reference", "rps"), med("reference", "p99_ms")
        allow_rps, deny_rps, allow_p99 = med("allow", "rps"), med("deny", "rps"), med("allow", "p99_ms")
        durable_rps, durable_p99 = med("durable", "rps"), med("durable", "p99_ms")
        table = [
            row(
                "P1 authorize allow, req/s",
                allow_rps,
                ref_rps,
                allow_rps / ref_rps,
                ">= 0.9",
                allow_rps / ref_rps >= 0.9,
            ),
            row("P1 authorize deny, req/s", deny_rps, ref_rps, deny_rps / ref_rps, ">= 0.7", deny_rps / ref_rps >= 0.7),
            # The durability floor: the reference plus one committed INSERT per answer. A
            # decision must be durable before its answer, so no allow can beat this view;
            # the reference does no write at all.
            row(
                "P1 floor: reference + one durable INSERT, req/s",
                durable_rps,
                ref_rps,
                durable_rps / ref_rps,
                "info",
                None,
            ),
            row(
                "P1 authorize allow against that floor, req/s",
                allow_rps,
                durable_rps,
                allow_rps / durable_rps,
                "info",
                None,
            ),
            row(
                "P2 authorize p99 at 32 conn, ms",
                allow_p99,
                ref_p99,
                allow_p99 / ref_p99,
                "<= 1.2",
                allow_p99 / ref_p99 <= 1.2,
            ),
            row(
                "P2 authorize p99 against the floor's, ms",
                allow_p99,
                durable_p99,
                allow_p99 / durable_p99,
                "info",
                None,
            ),
        ]
        table.append(
            row(
                "decisions chained / answered (sequencer every 1 s)",
                chained["recorded"],
                chained["answered"],
                chained["recorded"] / chained["answered"],
                ">= 1, chain verifies",
                chained["recorded"] >= chained["answered"] and chained["chain_ok"],
            )
        )
        enforcement = figures.check_time_enforcement(base, key)
        table.append(
            row("P3 allows after expires_at", enforcement["late_allows"], 0, None, "0", enforcement["late_allows"] == 0)
        )
        worker = start_worker(out_dir / "celery.log")
        figures.wait_for_worker()
        eta = figures.worker_expiry_delay(5 if quick else 20)
        stop(worker)
        worker = None
        table.append(row("P3 expiry with a worker, p99 s", eta["p99_s"], 2.0, None, "<= 2 s", eta["p99_s"] <= 2.0))
        sweep = figures.sweep_once_ends_all(1000)
        table.append(
            row(
                "P3 due grants left after one sweep",
                sweep["left_after_one_sweep"],
                0,
                None,
                "0",
                sweep["left_after_one_sweep"] == 0,
            )
        )
        p4 = figures.sweeper_rate(due)
        table.append(
            row(
                f"P4 sweeper on {due:,} due grants, grants/s",
                p4["sweeper"],
                p4["raw"],
                p4["sweeper"] / p4["raw"],
                ">= 0.5",
                p4["sweeper"] / p4["raw"] >= 0.5,
            )
        )
        # The floor: what the rows the issue requires cost the database alone (raw UPDATE,
        # change-log and evidence INSERTs in plain SQL); the sweeper is shown against it too.
        table.append(
            row(
                "P4 floor: raw UPDATE + change-log and evidence rows in SQL, grants/s",
                p4["floor"],
                p4["raw"],
                p4["floor"] / p4["raw"],
                "info",
                None,
            )
        )
        table.append(
            row(
                "P4 sweeper against that floor, grants/s",
                p4["sweeper"],
                p4["floor"],
                p4["sweeper"] / p4["floor"],
                "info",
                None,
            )
        )
        table.append(
            row("P4 sweep's evidence chained by the sequencer, records/s", p4["sealed_per_s"], None, None, "info", None)
        )
        table.append(
            row(
                "P4 sweep plan uses the partial index",
                p4["uses_partial_index"],
                True,
                None,
                "yes",
                p4["uses_partial_index"],
            )
        )
        p5 = figures.ingest_times(base, key, rounds=3 if quick else 7)
        table.append(
            row(
                "P5 ingest 1,000 events, ms",
                p5["api_ms"],
                p5["raw_ms"],
                p5["raw_ms"] / p5["api_ms"],
                ">= 0.6",
                p5["raw_ms"] / p5["api_ms"] >= 0.6,
            )
        )
        rss = worker_rss_mb(server)
        table.append(row("P6 web worker RSS after the run, MB", rss, 150, None, "<= 150 MB", rss <= 150))
        limiter = figures.rate_limit_cost()
        table.append(row("rate limit, Redis, µs per request", limiter["redis"], limiter["local"], None, "info", None))
    except BenchError as exc:
        print(f"make bench: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(worker)
        stop(server)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "server": f"gunicorn bench.wsgi, {GUNICORN_WORKERS} sync workers, psycopg pool",
        "load": f"wrk -t2 -c32 -d{seconds}s, {rounds} alternating rounds, medians",
        "seconds": round(time.monotonic() - started),
        "figures": table,
        "runs": runs,
        "sweep_plan": p4["plan"],
        "sequencer": {"sealed": sequencer.sealed, "largest_batch": sequencer.largest_batch},
    }
    stamp = result["when"].replace(":", "").replace("+0000", "Z")
    for name in (f"bench-{stamp}.json", "latest.json"):
        (out_dir / name).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(render(result))
    print(f"\nJSON: var/bench/latest.json ({result['seconds']} s)")
    return 0


def _fmt(value):
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}"


def render(result):
    lines = [
        f"Mandate bench ({result['mode']}, {result['when']}): {result['server']}; {result['load']}",
        "",
        "| figure | Mandate | reference | ratio | goal | pass |",
        "|---|---:|---:|---:|---|---|",
    ]
    for item in result["figures"]:
        verdict = "—" if item["pass"] is None else ("PASS" if item["pass"] else "FAIL")
        lines.append(
            f"| {item['figure']} | {_fmt(item['value'])} | {_fmt(item['reference'])} | {_fmt(item['ratio'])} "
            f"| {item['goal']} | {verdict} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
