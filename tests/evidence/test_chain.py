"""Each workflow's evidence is one hash chain; any edit, deletion or reordering is named."""

import hashlib
import io
import json
from datetime import UTC

import pytest
from django.core.management import CommandError, call_command

from governance.evidence.models import EvidenceChainHead
from governance.verify_export import GENESIS_HASH
from tests import factories
from tests.evidence.helpers import record_events, tamper

pytestmark = pytest.mark.django_db

TABLE = "governance_evidencerecord"


def verify(*args):
    out = io.StringIO()
    try:
        call_command("verify_evidence", "--no-progress", *args, stdout=out)
    except CommandError as exc:
        return False, out.getvalue() + str(exc)
    return True, out.getvalue()


def test_records_are_numbered_and_each_links_to_the_one_before(workflow, agent):
    first, second, third = record_events(workflow, 3, workload=agent)
    assert [r.sequence for r in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.record_hash and third.prev_hash == second.record_hash
    head = EvidenceChainHead.objects.get(workflow=workflow)
    assert (head.last_sequence, head.last_hash) == (3, third.record_hash)


def test_each_workflow_has_its_own_chain(workflow, agent, owner, identity_source):
    other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    record_events(workflow, 2, workload=agent)
    (elsewhere,) = record_events(other, 1)
    assert elsewhere.sequence == 1 and elsewhere.prev_hash == GENESIS_HASH


def test_the_hash_is_sha256_of_the_documented_canonical_encoding(workflow, agent):
    (record,) = record_events(workflow, 1, workload=agent, task_ref="run-7", data_classification="internal")
    content = {
        "v": 1,
        "workflow_id": workflow.pk,
        "sequence": 1,
        "kind": "tool_call",
        "occurred_at": record.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "recorded_at": record.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "workload_id": agent.pk,
        "on_behalf_of_id": None,
        "actor_id": None,
        "access_request_id": None,
        "grant_id": None,
        "task_ref": "run-7",
        "ticket_ref": "",
        "tool_name": "tool-1",
        "target_resource": "",
        "data_classification": "internal",
        "outcome": "",
        "summary": "event 1",
        "payload_sha256": hashlib.sha256(b'{"n":1}').hexdigest(),
        "prev_hash": GENESIS_HASH,
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert record.record_hash == hashlib.sha256(encoded).hexdigest()


def test_an_intact_chain_verifies(workflow, agent):
    record_events(workflow, 5, workload=agent)
    ok, output = verify()
    assert ok and "OK: 5 records in 1 chains verified" in output
    head = EvidenceChainHead.objects.get(workflow=workflow)
    assert head.verified_ok is True and head.verified_sequence == 5 and head.verified_at


def test_an_edited_record_is_named(workflow, agent):
    records = record_events(workflow, 4, workload=agent)
    tamper(f"UPDATE {TABLE} SET summary = %s WHERE id = %s", ["nothing to see here", records[2].pk])
    ok, output = verify()
    assert not ok
    assert f"workflow “{workflow.slug}”, sequence 3: content does not match its hash" in output
    head = EvidenceChainHead.objects.get(workflow=workflow)
    assert head.verified_ok is False and "sequence 3" in head.verification_problem


def test_an_edited_payload_hash_is_named(workflow, agent):
    records = record_events(workflow, 2, workload=agent)
    tamper(f"UPDATE {TABLE} SET payload_sha256 = %s WHERE id = %s", ["0" * 64, records[0].pk])
    ok, output = verify()
    assert not ok and "sequence 1: content does not match its hash" in output


def test_a_deleted_record_is_named(workflow, agent):
    records = record_events(workflow, 4, workload=agent)
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [records[1].pk])
    ok, output = verify()
    assert not ok and "sequence 3: records 2 are missing (deleted)" in output


def test_deleting_the_last_records_is_detected_by_the_chain_head(workflow, agent):
    records = record_events(workflow, 4, workload=agent)
    tamper(f"DELETE FROM {TABLE} WHERE id IN (%s, %s)", [records[2].pk, records[3].pk])
    ok, output = verify()
    assert not ok and "ends at sequence 2 but its head says 4" in output


def test_a_record_rewritten_with_a_fresh_hash_breaks_the_next_link(workflow, agent):
    """Recomputing the edited record's own hash does not help: the next record points at the old one."""
    from governance.evidence.services import chain_content
    from governance.verify_export import record_hash

    records = record_events(workflow, 3, workload=agent)
    forged = {**records[1].__dict__, "summary": "forged"}
    tamper(
        f"UPDATE {TABLE} SET summary = %s, record_hash = %s WHERE id = %s",
        ["forged", record_hash(chain_content(forged)), records[1].pk],
    )
    ok, output = verify()
    assert not ok and "sequence 3: prev_hash does not match the record before it" in output


def test_reordered_records_are_detected(workflow, agent):
    records = record_events(workflow, 4, workload=agent)
    second, third = records[1].pk, records[2].pk
    # Swap positions 2 and 3 (through a free number, the pair is unique).
    tamper(f"UPDATE {TABLE} SET sequence = 99 WHERE id = %s", [second])
    tamper(f"UPDATE {TABLE} SET sequence = 2 WHERE id = %s", [third])
    tamper(f"UPDATE {TABLE} SET sequence = 3 WHERE id = %s", [second])
    ok, output = verify()
    assert not ok and "sequence 2: content does not match its hash" in output


def test_only_the_named_workflow_is_verified(workflow, agent, owner, identity_source):
    other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    broken = record_events(other, 2)
    record_events(workflow, 2, workload=agent)
    tamper(f"UPDATE {TABLE} SET summary = 'x' WHERE id = %s", [broken[0].pk])
    assert verify("--workflow", workflow.slug)[0] is True
    assert verify("--workflow", other.slug)[0] is False


def test_an_unknown_workflow_is_refused(db):
    ok, output = verify("--workflow", "no-such-workflow")
    assert not ok and "No workflow “no-such-workflow”" in output
