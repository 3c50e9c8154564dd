"""The figures measured inside the bench process: expiry (P3), the sweeper (P4), ingest (P5), rate limits."""

import statistics
import time
from datetime import timedelta

import requests
from django.db import connection, transaction
from django.utils import timezone

from .data import SCOPE, WORKFLOW, agent_with_grant, copy_grants
from .servers import BenchError


def check_time_enforcement(base_url, key, *, lifetime=2):
    """P3a: allows answered for a grant after its `expires_at` (must be 0), no worker running."""
    _, _, grant = agent_with_grant(task_ref="bench-expiring", duration_seconds=lifetime)
    body = {"workflow": WORKFLOW, "scope": SCOPE, "task_ref": "bench-expiring"}
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    late_allows = checks = allows = 0
    until = grant.expires_at + timedelta(seconds=1)
    while timezone.now() < until:
        sent = timezone.now()
        response = session.post(f"{base_url}/api/v1/authorize", json=body, timeout=10)
        if response.status_code != 200:
            raise BenchError(f"authorize answered {response.status_code}: {response.text[:200]}")
        checks += 1
        if response.json()["allow"]:
            allows += 1
            late_allows += sent >= grant.expires_at
    if not allows:
        raise BenchError("the expiring grant was never allowed: the check-time figure means nothing")
    return {"late_allows": late_allows, "checks": checks}


def wait_for_worker(timeout=90):
    """Until the Celery worker has consumed a task (the heartbeat), as /healthz judges it."""
    from governance.models import Heartbeat
    from governance.tasks import heartbeat

    since = timezone.now()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heartbeat.delay()
        time.sleep(1)
        if Heartbeat.objects.filter(name="worker", seen_at__gte=since).exists():
            return
    raise BenchError(f"the Celery worker consumed nothing within {timeout} s")


def worker_expiry_delay(count, *, lifetime=3):
    """P3b: seconds from `expires_at` to the grant marked expired by the ETA task (worker running)."""
    from approvals.models import Grant

    grants = [agent_with_grant(task_ref=f"bench-eta-{n}", duration_seconds=lifetime)[2] for n in range(count)]
    ids = [grant.pk for grant in grants]
    deadline = max(grant.expires_at for grant in grants) + timedelta(seconds=15)
    while timezone.now() < deadline:
        if not Grant.objects.filter(pk__in=ids, status="active").exists():
            break
        time.sleep(0.2)
    rows = list(Grant.objects.filter(pk__in=ids).values_list("status", "ended_at", "expires_at"))
    if any(status != "expired" for status, _, _ in rows):
        raise BenchError("the worker did not expire every grant within 15 s of its expiry")
    delays = sorted((ended - expires).total_seconds() for _, ended, expires in rows)
    return {"p99_s": delays[min(len(delays) - 1, int(len(delays) * 0.99))], "grants": len(delays)}


def sweep_once_ends_all(count):
    """P3c: with no worker, one sweep ends every due grant."""
    from approvals.models import Grant
    from approvals.services import expire_due_grants

    _, _, template = agent_with_grant(task_ref="bench-sweep-template")
    copy_grants(template, count, expires_at=timezone.now() - timedelta(seconds=1))
    expire_due_grants()
    left = Grant.objects.filter(status="active", expires_at__lte=timezone.now()).count()
    return {"left_after_one_sweep": left}


def _raw_batched_update(now, batch_size):
    total = 0
    with connection.cursor() as cursor:
        while True:
            with transaction.atomic():
                cursor.execute(
                    "UPDATE approvals_grant SET status = 'expired', ended_at = %s, updated_at = %s "
                    "WHERE id = ANY(ARRAY(SELECT id FROM approvals_grant WHERE status = 'active' "
                    "AND expires_at <= %s ORDER BY expires_at LIMIT %s FOR NO KEY UPDATE SKIP LOCKED))",
                    [now, now, now, batch_size],
                )
                total += cursor.rowcount
            if cursor.rowcount < batch_size:
                return total


# Copies of the change log's and the evidence intake's tables (columns, defaults and
# indexes), so the floor writes what the sweeper writes without touching the real trail.
_FLOOR_TABLES = {"bench_floor_logentry": "auditlog_logentry", "bench_floor_intake": "governance_evidenceintake"}


def _raw_batched_update_with_records(now, batch_size):
    """The floor under the sweeper: the raw batched UPDATE plus, per grant, the rows the issue
    requires (a change-log entry and an evidence record with its SHA-256), in plain SQL, one
    statement per batch, nothing read back into Python."""
    total = 0
    with connection.cursor() as cursor:
        for copy, table in _FLOOR_TABLES.items():
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {copy} (LIKE {table} INCLUDING ALL)")
        while True:
            with transaction.atomic():
                cursor.execute(
                    """
                    WITH ended AS (
                      UPDATE approvals_grant SET status = 'expired', ended_at = %s, updated_at = %s,
                        end_reason = 'Expired at the end of its lifetime.'
                      WHERE id = ANY(ARRAY(SELECT id FROM approvals_grant WHERE status = 'active'
                        AND expires_at <= %s ORDER BY expires_at LIMIT %s FOR NO KEY UPDATE SKIP LOCKED))
                      RETURNING id, request_id, workflow_id, workload_id, task_ref
                    ), logged AS (
                      INSERT INTO bench_floor_logentry (content_type_id, object_pk, object_id, object_repr, action,
                        changes_text, changes, timestamp)
                      SELECT 1, id::text, id, 'Grant #' || id, 1, '', '{"status": ["active", "expired"]}', %s
                      FROM ended
                    ), payloads AS (
                      SELECT ended.*, '{"grant":' || id || ',"status":"expired"}' AS payload FROM ended
                    )
                    INSERT INTO bench_floor_intake (kind, occurred_at, task_ref, ticket_ref, tool_name,
                      target_resource, data_classification, outcome, summary, payload_sha256, raw_payload,
                      access_request_id, grant_id, workflow_id, workload_id)
                    SELECT 'action', %s, task_ref, '', '', '', '', 'success', 'Grant #' || id || ' expired',
                      encode(sha256(convert_to(payload, 'UTF8')), 'hex'), payload, request_id, id, workflow_id,
                      workload_id
                    FROM payloads
                    """,
                    [now, now, now, batch_size, now, now],
                )
                total += cursor.rowcount
            if cursor.rowcount < batch_size:
                return total


def sweeper_rate(count, batch_size=5000):
    """P4: grants/s of the sweeper and of the raw batched UPDATE, each on `count` due grants."""
    from approvals.services import expire_due_grants
    from governance.evidence.intake import seal_intake

    _, _, template = agent_with_grant(task_ref="bench-p4-template")
    # History first, as in a real database: most grants have long ended.
    copy_grants(template, count, expires_at=timezone.now() - timedelta(days=1), status="expired")
    rates = {}
    for name, sweep in (
        ("raw", _raw_batched_update),
        ("floor", _raw_batched_update_with_records),
        ("sweeper", expire_due_grants),
    ):
        copy_grants(template, count, expires_at=timezone.now() - timedelta(seconds=1))
        now = timezone.now()
        started = time.perf_counter()
        ended = sweep(now, batch_size)
        elapsed = time.perf_counter() - started
        if ended < count:
            raise BenchError(f"{name} ended {ended} of {count} due grants")
        rates[name] = ended / elapsed
    # The sweeper's evidence waits in the intake (durable with its batch); what the
    # sequencer then spends chaining it is reported beside the figure, not hidden.
    started = time.perf_counter()
    sealed = seal_intake()
    rates["sealed_per_s"] = sealed / (time.perf_counter() - started) if sealed else 0.0
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM approvals_grant WHERE id = ANY(ARRAY(SELECT id FROM approvals_grant "
            "WHERE status = 'active' AND expires_at <= %s ORDER BY expires_at LIMIT %s FOR NO KEY UPDATE SKIP LOCKED))",
            [timezone.now(), batch_size],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {**rates, "uses_partial_index": "grant_active_expiry_idx" in plan, "plan": plan}


def _events(count):
    return [
        {
            "kind": "tool_call",
            "tool_name": "jira.add_comment",
            "target_resource": f"INC-{n}",
            "task_ref": "bench",
            "outcome": "success",
            "payload": {"n": n, "body": "Deploys since 09:00: 3"},
        }
        for n in range(count)
    ]


def ingest_times(base_url, key, *, rounds, count=1000):
    """P5: ms for POST /api/v1/evidence/ of `count` events, and for a raw bulk_create of the same rows."""
    from governance.evidence.models import EvidenceRecord
    from governance.evidence.services import chain_content
    from governance.models import Workflow
    from governance.verify_export import GENESIS_HASH, record_hash

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    api, raw = [], []
    workflow_id = Workflow.objects.get(slug=WORKFLOW).pk
    for _ in range(rounds):
        started = time.perf_counter()
        response = session.post(f"{base_url}/api/v1/evidence/", json={"events": _events(count)}, timeout=60)
        api.append((time.perf_counter() - started) * 1000)
        if response.status_code != 201 or response.json().get("recorded") != count:
            raise BenchError(f"evidence ingest answered {response.status_code}: {response.text[:300]}")
        started = time.perf_counter()
        with transaction.atomic():
            now, prev = timezone.now(), GENESIS_HASH
            records = []
            for n, event in enumerate(_events(count)):
                record = EvidenceRecord(
                    workflow_id=workflow_id,
                    sequence=10**12 + n,
                    kind=event["kind"],
                    tool_name=event["tool_name"],
                    target_resource=event["target_resource"],
                    task_ref=event["task_ref"],
                    outcome=event["outcome"],
                    occurred_at=now,
                    recorded_at=now,
                    prev_hash=prev,
                )
                record.record_hash = prev = record_hash(chain_content(record.__dict__))
                records.append(record)
            EvidenceRecord.objects.bulk_create(records, chained=True)
            raw.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)
    return {"api_ms": statistics.median(api), "raw_ms": statistics.median(raw)}


def rate_limit_cost(calls=5000):
    """µs per counted request at the check's limit: Redis (slots a block a round trip) and the in-process fallback."""
    from django.conf import settings

    from governance.api import throttling

    limit, window = throttling.parse_rate(settings.API_AUTHORIZE_THROTTLE_RATE)
    costs = {}
    for name, url in (("redis", settings.RATE_LIMIT_REDIS_URL), ("local", "")):
        settings.RATE_LIMIT_REDIS_URL = url
        started = time.perf_counter()
        for _ in range(calls):
            throttling.count_hit(f"bench:{name}", window, limit)
        costs[name] = (time.perf_counter() - started) / calls * 1e6
    return costs


class Sequencer:
    """The evidence sequencer as beat runs it in production (every second), in a thread."""

    def __init__(self, interval=1.0):
        import threading

        self.interval, self.sealed, self.largest_batch = interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from django.db import close_old_connections

        try:
            from governance.evidence.intake import seal_intake
        except ImportError:  # measuring a version from before the intake: nothing to seal
            return

        while not self._stop.wait(self.interval):
            sealed = seal_intake()
            self.sealed += sealed
            self.largest_batch = max(self.largest_batch, sealed)
        close_old_connections()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def decisions_in_chain(answered):
    """Every answered decision is in the workflow's chain once sealed, and the chain verifies."""
    from governance.evidence.models import EvidenceRecord
    from governance.evidence.verification import verify_workflow_chain
    from governance.models import Workflow

    workflow = Workflow.objects.get(slug=WORKFLOW)
    result = verify_workflow_chain(workflow)
    recorded = EvidenceRecord.objects.filter(workflow=workflow, kind="authorization").count()
    pending = getattr(result, "pending", 0)
    return {"recorded": recorded, "answered": answered, "chain_ok": result.ok, "pending": pending}
