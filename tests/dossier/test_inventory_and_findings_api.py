"""The workload inventory (CSV and JSON), the findings API, and exports with an API key."""

import csv
import io
import json

import pytest
from django.utils import timezone

from approvals.services import decide, submit_request
from governance.findings.services import recompute_findings
from governance.models import EvidenceRecord, Finding
from identities.models import WorkloadIdentity
from tests.evidence.helpers import record_events
from tests.factories import EntitlementFactory, PolicyFactory, UserFactory, WorkflowFactory

pytestmark = pytest.mark.django_db


def body(response):
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def estate(workflow, agent, owner, backup_owner, requester, identity_source):
    write = PolicyFactory(
        workflow=workflow, entitlement=EntitlementFactory(scope="github:repo:write", access_level="write")
    )
    asked = submit_request(
        workflow=workflow,
        entitlement=write.entitlement,
        workload=agent,
        on_behalf_of=requester,
        task_ref="CHG-1",
        justification='=HYPERLINK("http://evil")',
        duration_seconds=600,
    )
    decide(asked, approver=backup_owner, decision="approve", channel="browser")
    record_events(workflow, 3, workload=agent)
    elsewhere = WorkflowFactory(control_owner=UserFactory(), identity_source=identity_source, status="active")
    stranger = WorkloadIdentity.objects.create(
        name="=Stranger", slug="stranger", workflow=elsewhere, owner=elsewhere.control_owner
    )
    return {"stranger": stranger}


def test_the_json_inventory_has_the_dossier_answers_for_every_workload(api_as, auditor, agent, estate, backup_owner):
    response = api_as(auditor).get("/api/v1/workload-inventory/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    document = json.loads(body(response))
    rows = {row["slug"]: row for row in document["workloads"]}
    assert set(rows) == {agent.slug, "stranger"}
    mine = rows[agent.slug]
    assert mine["owner"]["username"] == agent.owner.username
    assert mine["workflow"]["backup_owner"]["username"] == backup_owner.username
    [grant] = mine["active_grants"]
    assert grant["why"]["task_ref"] == "CHG-1"
    assert grant["why"]["approvals"][0]["by"]["username"] == backup_owner.username
    assert mine["entitlements"][0]["scope"] == "github:repo:write"
    # Its own reports and what Mandate recorded about it (request, approval, grant).
    assert mine["events"] == EvidenceRecord.objects.filter(workload=agent).count() > 3 and mine["last_event_at"]
    assert document["export"]["exported_by"] == auditor.username


def test_the_csv_inventory_is_one_row_a_workload_with_formulas_escaped(api_as, auditor, agent, estate):
    response = api_as(auditor).get("/api/v1/workload-inventory/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = {row["slug"]: row for row in csv.DictReader(io.StringIO(body(response)))}
    assert set(rows) == {agent.slug, "stranger"}
    assert "github:repo:write until" in rows[agent.slug]["active_grants"]
    assert "task CHG-1" in rows[agent.slug]["active_grants"]
    assert rows[agent.slug]["events"] == str(EvidenceRecord.objects.filter(workload=agent).count())
    assert rows["stranger"]["events"] == "0" and rows["stranger"]["active_grants"] == ""
    assert rows["stranger"]["name"] == "'=Stranger"  # a spreadsheet must not run it


def test_an_owner_sees_only_their_workloads_in_the_inventory(api_as, owner, agent, estate):
    document = json.loads(body(api_as(owner).get("/api/v1/workload-inventory/")))
    assert [row["slug"] for row in document["workloads"]] == [agent.slug]


def test_the_inventory_costs_few_queries_however_many_workloads(
    api_as, auditor, workflow, owner, estate, django_assert_max_num_queries
):
    for n in range(15):
        WorkloadIdentity.objects.create(name=f"Bot {n}", slug=f"bot-{n}", workflow=workflow, owner=owner)
    client = api_as(auditor)
    with django_assert_max_num_queries(14):
        body(client.get("/api/v1/workload-inventory/?format=csv"))


def test_a_bad_format_is_a_400(api_as, auditor):
    response = api_as(auditor).get("/api/v1/workload-inventory/?format=xml")
    assert response.status_code == 400 and "format" in response.json()["fields"]


def test_a_bearer_key_is_never_sent_to_the_login_page(client):
    response = client.get("/api/v1/workload-inventory/", HTTP_AUTHORIZATION="Bearer mdt_wrong")
    assert response.status_code == 401
    assert response.json()["code"] and "login" not in response.get("Location", "")
    assert client.get("/api/v1/evidence/export/", HTTP_AUTHORIZATION="Bearer mdt_wrong").status_code == 401


def test_a_browser_session_works_too(client, auditor, estate):
    client.force_login(auditor)
    assert client.get("/api/v1/workload-inventory/?format=csv").status_code == 200


def test_the_evidence_export_with_an_api_key_verifies_offline(api_as, auditor, workflow, estate, tmp_path):
    from governance.verify_export import verify_file

    response = api_as(auditor).get(f"/api/v1/evidence/export/?workflow={workflow.slug}&format=jsonl")
    assert response.status_code == 200
    path = tmp_path / "export.jsonl"
    path.write_text(body(response))
    out = io.StringIO()
    assert verify_file(str(path), out=out) == 0, out.getvalue()
    assert "OK:" in out.getvalue()


def test_findings_api_for_auditors_and_owners(api_as, auditor, owner, outsider, agent, workflow, estate):
    recompute_findings()
    Finding.objects.create(
        kind="no_active_owner",
        workflow=estate["stranger"].workflow,
        fingerprint="elsewhere",
        subject_type="workflow",
        title="Elsewhere",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    everything = api_as(auditor).get("/api/v1/findings/?limit=500").json()
    mine = api_as(owner).get("/api/v1/findings/?limit=500").json()
    assert everything["count"] > mine["count"]
    assert {row["workflow"] for row in mine["results"]} <= {workflow.slug}
    elsewhere = Finding.objects.get(fingerprint="elsewhere")
    assert api_as(owner).get(f"/api/v1/findings/{elsewhere.pk}/").status_code == 404
    assert api_as(auditor).get(f"/api/v1/findings/{elsewhere.pk}/").json()["title"] == "Elsewhere"
    assert api_as(outsider).get("/api/v1/findings/").status_code == 403
    assert api_as(agent).get("/api/v1/findings/").status_code == 403
    assert api_as(auditor).get("/api/v1/findings/?resolved=true").json()["count"] == 0
    assert api_as(auditor).get("/api/v1/findings/?severity=purple").status_code == 400
    assert api_as(auditor).post("/api/v1/findings/", {}).status_code == 405
