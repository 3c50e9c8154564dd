"""The offline verifier reads exports without Django and names what is wrong."""

import io
import json

import pytest

from governance.evidence.exports import export_queryset, iter_export_records
from governance.verify_export import verify_file
from tests.evidence.helpers import record_events

pytestmark = pytest.mark.django_db


def exported(workflow):
    return list(iter_export_records(export_queryset([workflow.pk])))


def run(tmp_path, records, name="export.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records) if isinstance(records, list) else records)
    out = io.StringIO()
    return verify_file(str(path), out=out), out.getvalue()


def test_swapped_lines_are_reported_as_out_of_order(tmp_path, workflow, agent):
    record_events(workflow, 3, workload=agent)
    records = exported(workflow)
    status, output = run(tmp_path, [records[0], records[2], records[1]])
    assert status == 1 and "records 2 are missing" in output
    status, output = run(tmp_path, [records[1], records[0]])
    assert status == 1 and "comes after sequence 2" in output


def test_an_edited_raw_payload_is_detected(tmp_path, workflow, agent, settings):
    settings.EVIDENCE_STORE_RAW_PAYLOADS = True
    record_events(workflow, 2, workload=agent)
    records = exported(workflow)
    assert records[0]["raw_payload"] == '{"n":1}'
    records[0]["raw_payload"] = '{"n":2}'
    status, output = run(tmp_path, records)
    assert status == 1 and "raw payload does not match payload_sha256" in output


def test_a_forged_first_link_is_detected(tmp_path, workflow, agent):
    record_events(workflow, 1, workload=agent)
    (record,) = exported(workflow)
    record["prev_hash"] = "f" * 64
    status, output = run(tmp_path, [record])
    assert status == 1 and "content does not match its hash" in output


def test_an_unreadable_file_exits_with_status_2(tmp_path):
    status, output = run(tmp_path, "{not json\n")
    assert status == 2 and "cannot read" in output
    status, output = run(tmp_path, "", name="export.xml")
    assert status == 2 and "unknown export format" in output
