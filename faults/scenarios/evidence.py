"""The evidence trail rewritten with the database owner's rights, then `verify_evidence`.

What the probe did (issue 19): disable the append-only trigger, rewrite one record,
re-hash every later record of its chain with the project's own hash function, move the
chain head, enable the trigger again. A plain hash chain cannot notice; the chain heads
signed with a key outside the database can. The invariant: `verify_evidence` exits
non-zero and names the rewritten record. (This scenario needs the signed checkpoints of
issue 19: until they are merged it fails, on purpose.)
"""

import subprocess
import sys

from django.db import connection, transaction

from governance.verify_export import record_hash

from ..report import info, must_hold
from ..stack import ROOT

NAME = "evidence rewritten as the database owner"
TRIGGER = "governance_evidence_append_only"


def _verify():
    return subprocess.run(
        [sys.executable, "manage.py", "verify_evidence", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def rewrite(workflow_id, sequence):
    """Rewrite record `sequence` of the chain and re-hash everything after it; (records re-hashed)."""
    from governance.evidence.models import EvidenceChainHead, EvidenceRecord
    from governance.evidence.services import chain_content
    from governance.evidence.verification import VERIFY_FIELDS

    records = EvidenceRecord.objects.filter(workflow_id=workflow_id, sequence__gte=sequence).order_by("sequence")
    previous = EvidenceRecord.objects.get(workflow_id=workflow_id, sequence=sequence - 1).record_hash
    rehashed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE governance_evidencerecord DISABLE TRIGGER {TRIGGER}")
        for values in records.values(*VERIFY_FIELDS):
            if values["sequence"] == sequence:
                values["summary"] = "Nothing happened here."
            values["prev_hash"] = previous
            values["record_hash"] = previous = record_hash(chain_content(values))
            cursor.execute(
                "UPDATE governance_evidencerecord SET summary = %s, prev_hash = %s, record_hash = %s WHERE id = %s",
                [values["summary"], values["prev_hash"], values["record_hash"], values["id"]],
            )
            rehashed += 1
        cursor.execute(f"ALTER TABLE governance_evidencerecord ENABLE TRIGGER {TRIGGER}")
        EvidenceChainHead.objects.filter(workflow_id=workflow_id).update(last_hash=previous)
    return rehashed


def run(world):
    from django.db.models import Count

    from governance.evidence.models import EvidenceRecord

    before = _verify()
    longest = EvidenceRecord.objects.values("workflow_id").annotate(n=Count("id")).order_by("-n").first() or {"n": 0}
    if longest["n"] < 3:
        return [must_hold(NAME, "a chain to rewrite", longest["n"], False, ">= 3 records")]
    target = max(2, longest["n"] // 3)
    rehashed = rewrite(longest["workflow_id"], target)
    after = _verify()
    named = f"#{target}" in (after.stdout + after.stderr)
    return [
        info(NAME, "verify_evidence before the rewrite (exit code)", before.returncode),
        info(NAME, "records re-hashed after the rewritten one", rehashed - 1),
        must_hold(
            NAME,
            "rewrite detected: verify_evidence exits non-zero",
            after.returncode,
            after.returncode != 0,
            "≠ 0 (needs signed checkpoints)",
        ),
        info(NAME, "the rewritten record is named", named),
    ]
