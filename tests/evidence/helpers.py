"""Helpers for the evidence tests: record a few events, and tamper below the ORM."""

from contextlib import contextmanager

from django.db import connection

from governance.evidence.services import record_evidence


def record_events(workflow, count, *, workload=None, kind="tool_call", summary=None, **fields):
    return [
        record_evidence(
            workflow=workflow,
            kind=kind,
            workload=workload,
            tool_name=f"tool-{n}",
            summary=summary or f"event {n}",
            payload={"n": n},
            **fields,
        )
        for n in range(1, count + 1)
    ]


@contextmanager
def triggers_disabled():
    """Let raw SQL change evidence, as an attacker with database access could."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # A superuser session can switch off ordinary triggers (the append-only guard).
        cursor.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            cursor.execute("RESET session_replication_role")


def tamper(sql, params=()):
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params)
