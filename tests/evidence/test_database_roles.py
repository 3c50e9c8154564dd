"""The app's database role may add and read evidence, never change it or switch its guard off.

The suite runs as the tables' owner (it creates the test database); these tests grant the
app role (`DATABASE_APP_ROLE`, made by bin/ci-database-roles) with `grant_app_role`, then
connect as that role and try what the probe did with the app's credentials.
"""

import io
import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from governance.evidence.checkpoints import sign_checkpoints
from tests.conftest import require_service
from tests.evidence.helpers import record_events
from tests.workers import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EVIDENCE = "governance_evidencerecord"
CHECKPOINTS = "governance_evidencecheckpoint"
INTAKE = "governance_evidenceintake"


def app_role():
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    role = settings.DATABASE_APP_ROLE
    require_service(
        bool(role) and role != connection.settings_dict["USER"],
        "an app database role apart from the owner (bin/ci-database-roles, DATABASE_APP_ROLE)",
    )
    return role


def app_url(role):
    s = connection.settings_dict
    password = os.environ.get("MANDATE_APP_PASSWORD", "")
    auth = role + (f":{password}" if password else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def granted():
    role = app_role()
    out = io.StringIO()
    call_command("grant_app_role", stdout=out)
    assert f"{EVIDENCE}: SELECT, INSERT" in out.getvalue()
    return role


def denied(role, statement, params=()):
    """The error PostgreSQL gives the app role for `statement` (None if it was allowed)."""
    with psycopg.connect(app_url(role), autocommit=True) as conn:
        try:
            conn.execute(statement, params)
        except psycopg.errors.InsufficientPrivilege as exc:
            return str(exc)
    return None


def test_the_app_role_has_exactly_its_privileges_on_the_evidence_tables(granted):
    with connection.cursor() as cursor:

        def may(table, privilege):
            cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [granted, table, privilege])
            return cursor.fetchone()[0]

        for table in (EVIDENCE, CHECKPOINTS):
            assert [may(table, p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")] == [
                True,
                True,
                False,
                False,
                False,
            ]
        # The sequencer deletes what it chained; nothing updates the intake.
        assert [may(INTAKE, p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")] == [True, True, False, True]
        assert not may("django_migrations", "INSERT")
        assert may("approvals_grant", "UPDATE")


def test_the_app_role_cannot_rewrite_delete_or_unguard_evidence(granted, workflow, agent):
    (record,) = record_events(workflow, 1, workload=agent)
    sign_checkpoints()
    assert "permission denied" in denied(granted, f"UPDATE {EVIDENCE} SET summary = 'x' WHERE id = %s", [record.pk])
    assert "permission denied" in denied(granted, f"DELETE FROM {EVIDENCE} WHERE id = %s", [record.pk])
    assert "permission denied" in denied(granted, f"TRUNCATE {EVIDENCE}")
    assert "must be owner" in denied(granted, f"ALTER TABLE {EVIDENCE} DISABLE TRIGGER governance_evidence_append_only")
    assert "must be owner" in denied(granted, f"ALTER TABLE {EVIDENCE} DISABLE TRIGGER ALL")
    assert "must be owner" in denied(granted, "DROP FUNCTION governance_evidence_append_only() CASCADE")
    assert "permission denied" in denied(granted, "SET session_replication_role = replica")
    assert "permission denied" in denied(granted, f"UPDATE {CHECKPOINTS} SET head_hash = 'x'")
    assert "permission denied" in denied(granted, f"DELETE FROM {CHECKPOINTS}")
    assert denied(granted, f"SELECT count(*) FROM {EVIDENCE}") is None


def test_the_app_runs_as_the_app_role(granted, workflow, agent):
    """Evidence written, sealed, signed and verified by a process connected as the app role."""
    script = (
        "from governance.evidence.services import record_evidence\n"
        "from governance.evidence.intake import record_decision, seal_intake\n"
        "from governance.evidence.checkpoints import sign_checkpoints\n"
        f"record_evidence(workflow={workflow.pk}, kind='action', workload={agent.pk}, summary='by the app')\n"
        f"record_decision(workflow={workflow.pk}, kind='authorization', workload={agent.pk}, outcome='allowed')\n"
        "seal_intake()\n"
        "sign_checkpoints()\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "governance.settings_test",
        "DATABASE_URL": app_url(granted),
        "EVIDENCE_SIGNING_KEY_DIR": settings.EVIDENCE_SIGNING_KEY_DIR,
        "EVIDENCE_CHECKPOINT_FILE": settings.EVIDENCE_CHECKPOINT_FILE,
    }
    for command in (["shell", "-c", script], ["verify_evidence", "--no-progress"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    assert "OK: 2 records in" in done.stdout


def test_granting_the_owner_itself_is_refused():
    app_role()
    with pytest.raises(CommandError, match="is the role running this command"):
        call_command("grant_app_role", "--role", connection.settings_dict["USER"])
