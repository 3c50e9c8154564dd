"""Helpers for the evidence tests: record a few events, and tamper below the ORM."""

from contextlib import contextmanager

from django.db import connection

from governance.evidence.services import record_evidence

TABLE = "governance_evidencerecord"


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
    """Let raw SQL change evidence, as an attacker with the tables' owner's credentials could."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # The owner of the table may switch off its triggers (the append-only guard); the
        # app's role may not (tests/evidence/test_database_roles.py). The deferred foreign
        # key checks of this test's inserts are run first: ALTER TABLE waits for none.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER governance_evidence_append_only")
        try:
            yield
        finally:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER governance_evidence_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def tamper(sql, params=()):
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params)
