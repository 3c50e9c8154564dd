"""Evidence exports stream as CSV, JSON and JSON Lines, and verify offline without Django."""

import csv
import io
import json
import shutil
import subprocess
import sys
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

import governance.verify_export
from governance.evidence.exports import export_queryset, export_response
from governance.evidence.services import ingest_evidence_batch
from tests.evidence.helpers import record_events, tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def verifier(tmp_path):
    """The verifier copied out of the project, as an auditor would run it."""
    target = tmp_path / "verify_export.py"
    shutil.copy(governance.verify_export.__file__, target)
    return target


def run_verifier(verifier, path):
    # -I: isolated mode, so neither the project nor its virtualenv is importable.
    result = subprocess.run(
        [sys.executable, "-I", str(verifier), str(path)], capture_output=True, text=True, cwd=path.parent, check=False
    )
    return result.returncode, result.stdout + result.stderr


def download(client, workflow, fmt, **params):
    response = client.get(reverse("audit:export", args=[workflow.slug]), {"format": fmt, **params})
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_an_export_verifies_offline(client, owner, workflow, agent, verifier, tmp_path, fmt):
    record_events(workflow, 5, workload=agent, summary="=HYPERLINK(evil)")
    client.force_login(owner)
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(download(client, workflow, fmt))
    status, output = run_verifier(verifier, path)
    assert status == 0, output
    assert "OK: 5 records verified" in output and "sequences 1–5 (from the start)" in output


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_edited_export_fails_verification_naming_the_record(client, owner, workflow, agent, verifier, tmp_path, fmt):
    record_events(workflow, 3, workload=agent)
    client.force_login(owner)
    text = download(client, workflow, fmt).decode().replace("event 2", "event 2 (harmless)")
    path = tmp_path / f"export.{fmt}"
    path.write_text(text)
    status, output = run_verifier(verifier, path)
    assert status == 1 and "sequence 2: content does not match its hash" in output


def test_an_export_with_a_record_removed_fails_verification(client, owner, workflow, agent, verifier, tmp_path):
    record_events(workflow, 3, workload=agent)
    client.force_login(owner)
    lines = download(client, workflow, "jsonl").decode().splitlines(keepends=True)
    path = tmp_path / "export.jsonl"
    path.write_text(lines[0] + lines[2])
    status, output = run_verifier(verifier, path)
    assert status == 1 and "records 2 are missing" in output


def test_a_tampered_database_shows_in_the_export(client, owner, workflow, agent, verifier, tmp_path):
    records = record_events(workflow, 3, workload=agent)
    tamper("UPDATE governance_evidencerecord SET outcome = 'success' WHERE id = %s", [records[0].pk])
    client.force_login(owner)
    path = tmp_path / "export.jsonl"
    path.write_bytes(download(client, workflow, "jsonl"))
    assert run_verifier(verifier, path)[0] == 1


def test_a_time_range_exports_a_contiguous_piece_of_the_chain(client, owner, workflow, agent, verifier, tmp_path):
    start = timezone.now()
    for day in range(3):
        with time_machine.travel(start + timedelta(days=day)):
            record_events(workflow, 2, workload=agent)
    client.force_login(owner)
    since, until = (start + timedelta(days=1)).date().isoformat(), (start + timedelta(days=2)).date().isoformat()
    body = download(client, workflow, "jsonl", since=since, until=until)
    records = [json.loads(line) for line in body.decode().splitlines()]
    assert [r["sequence"] for r in records] == [3, 4]
    path = tmp_path / "range.jsonl"
    path.write_bytes(body)
    status, output = run_verifier(verifier, path)
    assert status == 0 and f"mid-chain, after prev_hash {records[0]['prev_hash']}" in output


def test_exported_records_carry_the_chain_hashes_and_readable_labels(client, owner, workflow, agent):
    record_events(workflow, 1, workload=agent, task_ref="run-1")
    client.force_login(owner)
    (record,) = [json.loads(line) for line in download(client, workflow, "jsonl").decode().splitlines()]
    assert record["workflow"] == workflow.slug and record["workload"] == agent.slug
    assert len(record["record_hash"]) == 64 and record["prev_hash"] == "0" * 64
    document = json.loads(download(client, workflow, "json"))
    assert document["export"]["scope"] == workflow.slug and document["records"][0] == record


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(client, owner, workflow, agent):
    record_events(workflow, 1, workload=agent, summary="=cmd|' /C calc'!A0")
    client.force_login(owner)
    rows = list(csv.DictReader(io.StringIO(download(client, workflow, "csv").decode())))
    assert rows[0]["summary"].startswith("'=")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"format": "xml"}, "Unknown export format"),
        ({"since": "last tuesday"}, "The export range is invalid"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "The export range is invalid"),
    ],
)
def test_bad_export_parameters_are_refused_with_the_reason(client, owner, workflow, params, message):
    client.force_login(owner)
    response = client.get(reverse("audit:export", args=[workflow.slug]), params)
    assert response.status_code == 400 and message in response.content.decode()


def test_who_may_export(client, workflow, agent, auditor, backup_owner, outsider):
    record_events(workflow, 1, workload=agent)
    url = reverse("audit:export", args=[workflow.slug])
    assert client.get(url).status_code == 302  # to the sign-in page
    for person, status in ((auditor, 200), (backup_owner, 200), (outsider, 403)):
        client.force_login(person)
        assert client.get(url).status_code == status, person
    client.force_login(outsider)
    assert client.get(reverse("audit:export", args=["no-such-workflow"])).status_code == 404


def test_the_portfolio_export_holds_only_the_owners_workflows(client, workflow, agent, auditor, identity_source):
    from tests import factories

    stranger = factories.UserFactory(username="stranger", identity_source=identity_source)
    other = factories.WorkflowFactory(control_owner=stranger, identity_source=identity_source)
    record_events(workflow, 2, workload=agent)
    record_events(other, 3)
    client.force_login(stranger)
    response = client.get(reverse("audit:portfolio_export"), {"format": "jsonl"})
    slugs = {json.loads(line)["workflow"] for line in b"".join(response.streaming_content).decode().splitlines()}
    assert slugs == {other.slug}
    client.force_login(auditor)
    response = client.get(reverse("audit:portfolio_export"), {"format": "jsonl"})
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 5


def test_exporting_100k_records_keeps_memory_flat(workflow, agent, tmp_path, verifier):
    total, batch = 100_000, 1000
    for _ in range(total // batch):
        events = [{"kind": "tool_call", "tool_name": "search", "summary": f"query {n}"} for n in range(batch)]
        ingest_evidence_batch(agent, events)
    response = export_response(export_queryset([workflow.pk]), "jsonl", filename="big", meta={})
    path = tmp_path / "big.jsonl"
    tracemalloc.start()
    try:
        lines = 0
        with path.open("wb") as out:
            for chunk in response.streaming_content:
                out.write(chunk)
                lines += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = path.stat().st_size
    assert lines == total
    # Holding the export (≈ 60 MB as text, several times that as objects) would show here.
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB export"
    assert size > 4 * peak
    status, output = run_verifier(verifier, Path(path))
    assert status == 0 and f"OK: {total} records verified" in output
