"""Signed checkpoints: a chain rewritten and re-hashed by the database's owner is caught.

The attack of the probe: with the owner's rights, switch off the append-only trigger,
rewrite one record, re-hash every later one and move the chain head. The chain is then
consistent in itself; only the checkpoints, signed with a key outside the database and
copied to a file, tell. `verify_evidence` and the offline verifier both name the record.
"""

import base64
import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from governance.evidence.checkpoints import CHECKPOINT_EVERY, sign_checkpoints
from governance.evidence.exports import export_queryset, iter_export_records
from governance.evidence.intake import record_decision, seal_intake
from governance.evidence.keys import key_set, published_keys
from governance.evidence.models import EvidenceCheckpoint, EvidenceRecord
from governance.evidence.services import chain_content
from governance.evidence.verification import VERIFY_FIELDS
from governance.verify_export import GENESIS_HASH, checkpoint_message, ed25519_verify_pure, record_hash, verify_file
from tests.evidence.helpers import record_events, triggers_disabled

pytestmark = pytest.mark.django_db


def verify():
    out = io.StringIO()
    try:
        call_command("verify_evidence", "--no-progress", stdout=out)
    except CommandError as exc:
        return False, out.getvalue() + str(exc)
    return True, out.getvalue()


def record_and_sign(workflow, agent, count, capture):
    """`count` records, each followed by a checkpoint (as after each sequencer batch)."""
    for _ in range(count):
        record_events(workflow, 1, workload=agent)
        with capture(execute=True):
            sign_checkpoints([workflow.pk])


def sink(settings):
    return [json.loads(line) for line in Path(settings.EVIDENCE_CHECKPOINT_FILE).read_text().splitlines()]


def rewrite_and_rehash(workflow, sequence, summary):
    """The probe's rewrite, as the tables' owner: one record changed, all later ones re-hashed."""
    rows = EvidenceRecord.objects.filter(workflow=workflow).order_by("sequence").values(*VERIFY_FIELDS)
    previous = GENESIS_HASH
    with triggers_disabled(), connection.cursor() as cursor:
        for values in rows:
            if values["sequence"] >= sequence:
                if values["sequence"] == sequence:
                    values["summary"] = summary
                values["prev_hash"] = previous
                values["record_hash"] = record_hash(chain_content(values))
                cursor.execute(
                    "UPDATE governance_evidencerecord SET summary = %s, prev_hash = %s, record_hash = %s WHERE id = %s",
                    [values["summary"], values["prev_hash"], values["record_hash"], values["id"]],
                )
            previous = values["record_hash"]
        cursor.execute(
            "UPDATE governance_evidencechainhead SET last_hash = %s WHERE workflow_id = %s", [previous, workflow.pk]
        )


def offline(tmp_path, workflow, settings, checkpoints=None):
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in iter_export_records(export_queryset([workflow.pk]))))
    keys = tmp_path / "evidence-keys.json"
    keys.write_text(json.dumps(key_set()))
    out = io.StringIO()
    status = verify_file(
        str(export), out=out, checkpoints_path=checkpoints or settings.EVIDENCE_CHECKPOINT_FILE, keys_path=str(keys)
    )
    return status, out.getvalue()


def test_a_checkpoint_is_signed_after_each_sequencer_run_and_copied_to_the_file(
    settings, workflow, agent, django_capture_on_commit_callbacks
):
    for n in range(3):
        record_decision(workflow=workflow, kind="authorization", workload=agent, outcome="allowed", summary=f"d{n}")
    with django_capture_on_commit_callbacks(execute=True):
        assert seal_intake(workflow.pk) == 3
    (checkpoint,) = EvidenceCheckpoint.objects.filter(workflow=workflow)
    last = EvidenceRecord.objects.get(workflow=workflow, sequence=3)
    assert checkpoint.sequence == 3 and checkpoint.head_hash == last.record_hash
    (line,) = sink(settings)
    assert line["signature"] == checkpoint.signature and line["head_hash"] == last.record_hash
    # Verifiable with nothing but the published key (and the stdlib verifier).
    (key,) = published_keys()
    assert key.key_id == checkpoint.key_id and key.current
    assert ed25519_verify_pure(key.raw, checkpoint_message(line), base64.b64decode(line["signature"]))
    # Nothing moved: the minute job signs nothing new.
    assert sign_checkpoints() == 0


def test_the_minute_job_signs_every_head_that_moved(workflow, agent):
    record_events(workflow, 2, workload=agent)
    assert sign_checkpoints() == 1
    record_events(workflow, 1, workload=agent)
    assert sign_checkpoints() == 1 and sign_checkpoints() == 0
    assert list(EvidenceCheckpoint.objects.values_list("sequence", flat=True)) == [2, 3]


def test_the_public_keys_are_published_with_their_ids(client, workflow, agent):
    record_events(workflow, 1, workload=agent)
    sign_checkpoints()
    response = client.get(reverse("evidence-keys"))
    assert response.status_code == 200 and "public" in response["Cache-Control"]
    (key,) = response.json()["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["status"] == "current"
    assert key["kid"] == EvidenceCheckpoint.objects.get().key_id
    assert "d" not in key  # never the private half


def test_rotation_keeps_old_checkpoints_verifiable(settings, workflow, agent, django_capture_on_commit_callbacks):
    record_and_sign(workflow, agent, 2, django_capture_on_commit_callbacks)
    old = EvidenceCheckpoint.objects.get(sequence=2).key_id
    out = io.StringIO()
    call_command("rotate_evidence_key", stdout=out)
    record_and_sign(workflow, agent, 1, django_capture_on_commit_callbacks)
    new = EvidenceCheckpoint.objects.get(sequence=3).key_id
    assert new != old and f"{old} retired" in out.getvalue()
    assert {k["kid"]: k["status"] for k in key_set()["keys"]} == {old: "retired", new: "current"}
    assert list(Path(settings.EVIDENCE_SIGNING_KEY_DIR).glob("*.key")) == [
        Path(settings.EVIDENCE_SIGNING_KEY_DIR) / f"{new}.key"
    ]
    ok, output = verify()
    assert ok, output
    assert offline(Path(settings.EVIDENCE_CHECKPOINT_FILE).parent, workflow, settings)[0] == 0


def test_the_owners_rewrite_is_detected_and_the_record_named(
    settings, tmp_path, workflow, agent, django_capture_on_commit_callbacks
):
    record_and_sign(workflow, agent, 6, django_capture_on_commit_callbacks)
    assert verify()[0]
    rewrite_and_rehash(workflow, 4, "nothing happened here")
    ok, output = verify()
    assert not ok
    assert f"workflow “{workflow.slug}”, sequence 4: disagrees with the checkpoint signed at" in output
    status, output = offline(tmp_path, workflow, settings)
    assert status == 1 and "workflow " in output and "sequence 4: disagrees with the checkpoint" in output


def test_a_large_sequencer_batch_locates_a_rewrite_within_a_few_hundred_records(
    settings, workflow, agent, django_capture_on_commit_callbacks
):
    # A sweep puts thousands of records into one batch: checkpoints inside the batch keep
    # the stretch verification can name short.
    total = 2 * CHECKPOINT_EVERY + 37
    for n in range(total):
        record_decision(workflow=workflow, kind="authorization", workload=agent, outcome="allowed", summary=f"d{n}")
    with django_capture_on_commit_callbacks(execute=True):
        assert seal_intake(workflow.pk) == total
    signed = list(EvidenceCheckpoint.objects.filter(workflow=workflow).values_list("sequence", flat=True))
    assert signed == [CHECKPOINT_EVERY, 2 * CHECKPOINT_EVERY, total]
    assert [line["sequence"] for line in sink(settings)] == signed
    rewritten = CHECKPOINT_EVERY + 123
    rewrite_and_rehash(workflow, rewritten, "nothing happened here")
    ok, output = verify()
    assert not ok
    assert f"a record among sequences {CHECKPOINT_EVERY + 1}–{2 * CHECKPOINT_EVERY} was changed" in output


def test_without_checkpoints_the_rewrite_would_pass(settings, workflow, agent):
    # The defect as the probe found it: the chain alone is consistent after a re-hash.
    settings.EVIDENCE_CHECKPOINT_FILE = ""
    record_events(workflow, 5, workload=agent)
    rewrite_and_rehash(workflow, 2, "rewritten")
    assert verify()[0]


def test_deleting_the_databases_checkpoints_hides_nothing(
    settings, tmp_path, workflow, agent, django_capture_on_commit_callbacks
):
    record_and_sign(workflow, agent, 4, django_capture_on_commit_callbacks)
    rewrite_and_rehash(workflow, 3, "rewritten")
    with connection.cursor() as cursor:  # the owner may; the app role may not (test_database_roles)
        cursor.execute("DELETE FROM governance_evidencecheckpoint")
    ok, output = verify()
    assert not ok and "sequence 3: disagrees with the checkpoint" in output


def test_a_forged_checkpoint_is_refused(settings, workflow, agent, django_capture_on_commit_callbacks):
    record_and_sign(workflow, agent, 2, django_capture_on_commit_callbacks)
    # Signed with a key of the attacker's own: not among the published keys.
    forged = Ed25519PrivateKey.generate()
    line = {**sink(settings)[-1], "head_hash": "f" * 64}
    line["signature"] = base64.b64encode(forged.sign(checkpoint_message(line))).decode()
    with open(settings.EVIDENCE_CHECKPOINT_FILE, "a") as fh:
        fh.write(json.dumps(line) + "\n")
    ok, output = verify()
    assert not ok and "at sequence 2: the signature does not verify" in output


def test_a_truncated_chain_with_its_head_moved_back_is_detected(workflow, agent, django_capture_on_commit_callbacks):
    record_and_sign(workflow, agent, 3, django_capture_on_commit_callbacks)
    second = EvidenceRecord.objects.get(workflow=workflow, sequence=2)
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM governance_evidencerecord WHERE workflow_id = %s AND sequence = 3", [workflow.pk])
        cursor.execute(
            "UPDATE governance_evidencechainhead SET last_sequence = 2, last_hash = %s WHERE workflow_id = %s",
            [second.record_hash, workflow.pk],
        )
        cursor.execute("DELETE FROM governance_evidencecheckpoint WHERE sequence = 3")
    ok, output = verify()
    assert not ok and "the chain ends at sequence 2 but a signed checkpoint covers sequence 3" in output


def test_the_json_export_carries_its_checkpoints(api_as, auditor, workflow, agent, django_capture_on_commit_callbacks):
    record_and_sign(workflow, agent, 2, django_capture_on_commit_callbacks)
    response = api_as(auditor).get(f"/api/v1/evidence/export/?workflow={workflow.slug}&format=json")
    assert response.status_code == 200
    document = json.loads(b"".join(response.streaming_content))
    assert [c["sequence"] for c in document["checkpoints"]] == [1, 2]


def test_the_pure_python_verifier_agrees_with_cryptography():
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes_raw()
    signature = key.sign(b"message")
    assert ed25519_verify_pure(raw, b"message", signature)
    assert not ed25519_verify_pure(raw, b"messagf", signature)
    assert not ed25519_verify_pure(raw, b"message", signature[:-1] + bytes([signature[-1] ^ 1]))


def test_an_altered_line_in_the_checkpoint_file_is_reported(
    settings, workflow, agent, django_capture_on_commit_callbacks
):
    record_and_sign(workflow, agent, 1, django_capture_on_commit_callbacks)
    with open(settings.EVIDENCE_CHECKPOINT_FILE, "a") as fh:
        fh.write('{"workflow_id": \n')
    ok, output = verify()
    assert not ok and "the checkpoint file has an unreadable line" in output


def test_the_sequencer_keeps_chaining_when_the_key_cannot_be_made(settings, tmp_path, workflow, agent):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.EVIDENCE_SIGNING_KEY_DIR = str(blocker / "keys")
    record_decision(workflow=workflow, kind="authorization", workload=agent, outcome="allowed")
    assert seal_intake(workflow.pk) == 1
    assert not EvidenceCheckpoint.objects.exists()


def test_a_json_export_verifies_offline_against_its_own_checkpoints(
    api_as, auditor, tmp_path, workflow, agent, django_capture_on_commit_callbacks
):
    record_and_sign(workflow, agent, 3, django_capture_on_commit_callbacks)
    keys = tmp_path / "evidence-keys.json"
    keys.write_text(json.dumps(key_set()))

    def export_and_verify():
        response = api_as(auditor).get(f"/api/v1/evidence/export/?workflow={workflow.slug}&format=json")
        path = tmp_path / "export.json"
        path.write_bytes(b"".join(response.streaming_content))
        out = io.StringIO()
        return verify_file(str(path), out=out, keys_path=str(keys)), out.getvalue()

    status, output = export_and_verify()
    assert status == 0 and "3 signed checkpoints agree" in output, output
    rewrite_and_rehash(workflow, 2, "rewritten")
    status, output = export_and_verify()
    assert status == 1 and "sequence 2: disagrees with the checkpoint" in output
    # A JSON Lines export carries no checkpoints: the verifier asks for the file.
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text("")
    out = io.StringIO()
    assert verify_file(str(jsonl), out=out, keys_path=str(keys)) == 2 and "--checkpoints" in out.getvalue()
