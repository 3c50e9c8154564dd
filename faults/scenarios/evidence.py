"""The evidence trail rewritten, first with the application's credentials, then with the
database owner's, and `verify_evidence` afterwards.

What the probe did (issue 19): disable the append-only trigger, rewrite one record,
re-hash every later record of its chain with the project's own hash function, move the
chain head, enable the trigger again. The stack connects as the app role, which owns
nothing, so each of those statements must be refused to it; the owner can carry them out,
and then the chain heads signed with a key outside the database must catch the rewrite:
`verify_evidence` exits non-zero and names where the rewritten record is (the records
between the last checkpoint that agrees and the first that does not).
"""

import os
import re
import subprocess
import sys

import psycopg
from django.db import DatabaseError, connection, transaction

from governance.verify_export import record_hash

from ..report import info, must_hold
from ..stack import ROOT

NAME = "evidence rewritten as the database owner"
TABLE = "governance_evidencerecord"
TRIGGER = "governance_evidence_append_only"


def _verify():
    return subprocess.run(
        [sys.executable, "manage.py", "verify_evidence", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def connected_roles():
    """The roles every connection to this database uses (the stack's processes and this one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend' ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


def refused_to_the_app_role(record_id):
    """The rewrite's statements as the app role (DATABASE_URL): how many were refused, of how many."""
    statements = [
        f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}",
        f"UPDATE {TABLE} SET summary = 'Nothing happened here.' WHERE id = %s",
        f"DELETE FROM {TABLE} WHERE id = %s",
        f"TRUNCATE {TABLE}",
        f"DROP TRIGGER {TRIGGER} ON {TABLE}",
    ]
    refused = 0
    for statement in statements:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [record_id] if "%s" in statement else [])
        except DatabaseError as exc:
            refused += "permission denied" in str(exc) or "must be owner" in str(exc)
    return refused, len(statements)


def rewrite(workflow_id, sequence):
    """Rewrite record `sequence` of the chain as the owner and re-hash everything after it; (records re-hashed)."""
    from governance.evidence.models import EvidenceRecord
    from governance.evidence.services import chain_content
    from governance.evidence.verification import VERIFY_FIELDS

    records = EvidenceRecord.objects.filter(workflow_id=workflow_id, sequence__gte=sequence).order_by("sequence")
    previous = EvidenceRecord.objects.get(workflow_id=workflow_id, sequence=sequence - 1).record_hash
    rehashed = 0
    with psycopg.connect(os.environ["MIGRATE_DATABASE_URL"]) as owner, owner.transaction():
        owner.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        for values in records.values(*VERIFY_FIELDS):
            if values["sequence"] == sequence:
                values["summary"] = "Nothing happened here."
            values["prev_hash"] = previous
            values["record_hash"] = previous = record_hash(chain_content(values))
            owner.execute(
                f"UPDATE {TABLE} SET summary = %s, prev_hash = %s, record_hash = %s WHERE id = %s",
                [values["summary"], values["prev_hash"], values["record_hash"], values["id"]],
            )
            rehashed += 1
        owner.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
        owner.execute(
            "UPDATE governance_evidencechainhead SET last_hash = %s WHERE workflow_id = %s", [previous, workflow_id]
        )
    return rehashed


def named_range(output, workflow):
    """(first, last) of the records `verify_evidence` says the rewritten one is among, or None."""
    chain = rf"workflow (?:{workflow.pk}|“{re.escape(workflow.slug)}”)"
    found = re.search(rf"{chain}, sequence \d+: .*a record among sequences? (\d+)(?:–(\d+))?", output)
    if not found:
        return None
    first = int(found.group(1))
    return first, int(found.group(2) or first)


def run(world):
    from django.db.models import Count

    from governance.evidence.models import EvidenceRecord

    roles = connected_roles()
    before = _verify()
    longest = EvidenceRecord.objects.values("workflow_id").annotate(n=Count("id")).order_by("-n").first() or {"n": 0}
    if longest["n"] < 3:
        return [must_hold(NAME, "a chain to rewrite", longest["n"], False, ">= 3 records")]
    target = max(2, longest["n"] // 3)
    victim = EvidenceRecord.objects.get(workflow_id=longest["workflow_id"], sequence=target)
    refused, tried = refused_to_the_app_role(victim.id)
    untouched = EvidenceRecord.objects.get(id=victim.id).record_hash == victim.record_hash
    rehashed = rewrite(longest["workflow_id"], target)
    after = _verify()
    (world.out_dir / "verify_evidence.txt").write_text(after.stdout + after.stderr)
    among = named_range(after.stdout + after.stderr, victim.workflow)
    named = among is not None and among[0] <= target <= among[1]
    return [
        must_hold(NAME, "roles connected to the database", ", ".join(roles), roles == ["mandate_app"], "mandate_app"),
        info(NAME, "verify_evidence before the rewrite (exit code)", before.returncode),
        must_hold(
            NAME,
            "rewrite statements refused to the app role",
            f"{refused}/{tried}",
            refused == tried and untouched,
            "all (it owns nothing)",
        ),
        info(NAME, "records re-hashed by the owner after the rewritten one", rehashed - 1),
        must_hold(
            NAME,
            "rewrite detected: verify_evidence exits non-zero",
            after.returncode,
            after.returncode != 0,
            "≠ 0",
        ),
        must_hold(
            NAME,
            "the rewritten record is named (sequences between checkpoints)",
            f"#{target} in {among[0]}–{among[1]}" if among else "no",
            named,
            "its sequence in the range named",
        ),
    ]
