"""`/api/v1/evidence/`: a workload reports its events in batches, all or none; callers read what they may see."""

import pytest

from approvals.services import suspend_workload
from governance.evidence.models import EvidenceRecord
from governance.evidence.verification import verify_workflow_chain
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/evidence/"


def test_a_workload_records_a_batch_in_its_workflow_chain(api_as, agent, workflow):
    events = [
        {"kind": "prompt", "summary": "Plan", "payload": {"prompt": "Fix the build"}},
        {"kind": "tool_call", "tool_name": "git.push", "target_resource": "org/repo", "outcome": "success"},
    ]
    response = api_as(agent).post(URL, {"events": events}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["workflow"] == workflow.slug and body["recorded"] == 2
    assert [r["sequence"] for r in body["records"]] == [1, 2]
    stored = EvidenceRecord.objects.filter(workflow=workflow).order_by("sequence")
    assert [r.record_hash for r in stored] == [r["record_hash"] for r in body["records"]]
    assert all(r.workload_id == agent.pk for r in stored)


def test_a_large_batch_answers_each_stored_record_in_order_and_the_chain_verifies(api_as, agent, workflow):
    # On PostgreSQL a batch of 50 or more is streamed with COPY and its ids read back.
    api_as(agent).post(URL, {"events": [{"kind": "action", "outcome": "success"}]}, format="json")
    events = [{"kind": "tool_call", "tool_name": "jira.comment", "target_resource": f"INC-{n}"} for n in range(120)]
    response = api_as(agent).post(URL, {"events": events}, format="json")
    assert response.status_code == 201, response.json()
    answered = response.json()["records"]
    assert [r["sequence"] for r in answered] == list(range(2, 122))
    stored = {r.pk: r for r in EvidenceRecord.objects.filter(workflow=workflow, sequence__gte=2)}
    assert [(stored[r["id"]].sequence, stored[r["id"]].record_hash) for r in answered] == [
        (r["sequence"], r["record_hash"]) for r in answered
    ]
    assert [stored[r["id"]].target_resource for r in answered] == [f"INC-{n}" for n in range(120)]
    assert verify_workflow_chain(workflow).ok


def test_a_bare_list_is_accepted_too(api_as, agent):
    response = api_as(agent).post(URL, [{"kind": "action", "outcome": "success"}], format="json")
    assert response.status_code == 201 and response.json()["recorded"] == 1


def test_an_invalid_event_refuses_the_batch_with_errors_by_index(api_as, agent):
    events = [{"kind": "action"}, {"kind": "approval"}, {"kind": "tool_call", "data_classification": "secret"}]
    response = api_as(agent).post(URL, {"events": events}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "2 of 3 events are invalid" in body["message"]
    assert set(body["fields"]["events"]) == {"1", "2"}
    assert "kind" in body["fields"]["events"]["1"] and "data_classification" in body["fields"]["events"]["2"]
    assert not EvidenceRecord.objects.exists()


def test_more_than_a_thousand_events_are_refused(api_as, agent):
    response = api_as(agent).post(URL, {"events": [{"kind": "action"}] * 1001}, format="json")
    assert response.status_code == 400 and "At most 1000 events" in response.json()["message"]
    assert api_as(agent).post(URL, {"events": []}, format="json").status_code == 400


def test_only_active_workloads_report_evidence(api_as, agent, owner, client):
    assert api_as(owner).post(URL, {"events": [{"kind": "action"}]}, format="json").status_code == 403
    assert client.post(URL, {"events": [{"kind": "action"}]}, content_type="application/json").status_code in {
        401,
        403,
    }
    suspended = api_as(agent)
    suspend_workload(agent, by=owner, reason="compromised")
    assert suspended.post(URL, {"events": [{"kind": "action"}]}, format="json").status_code == 403
    assert not EvidenceRecord.objects.filter(kind="action").exists()


class TestReadingEvidence:
    @pytest.fixture
    def trail(self, api_as, agent, workflow):
        other_workflow_agent = factories.WorkloadIdentityFactory()
        api_as(agent).post(
            URL, {"events": [{"kind": "prompt", "task_ref": "run-1"}, {"kind": "tool_call"}]}, format="json"
        )
        api_as(other_workflow_agent).post(URL, {"events": [{"kind": "action"}]}, format="json")
        return other_workflow_agent

    def test_a_workload_reads_only_its_own_events(self, api_as, agent, trail):
        body = api_as(agent).get(URL).json()
        assert body["count"] == 2
        assert {r["workload"] for r in body["results"]} == {agent.slug}
        assert all(r["record_hash"] and "prev_hash" in r for r in body["results"])

    def test_owners_read_their_workflows_trail_and_auditors_everything(
        self, api_as, owner, auditor, outsider, workflow, trail
    ):
        assert {r["workflow"] for r in api_as(owner).get(URL).json()["results"]} == {workflow.slug}
        assert api_as(auditor).get(URL).json()["count"] == 3
        assert api_as(outsider).get(URL).json()["count"] == 0

    def test_filters_narrow_the_trail_and_bad_filters_are_400(self, api_as, auditor, workflow, trail):
        client = api_as(auditor)
        assert client.get(URL, {"workflow": workflow.slug, "kind": "prompt"}).json()["count"] == 1
        assert client.get(URL, {"task_ref": "run-1"}).json()["count"] == 1
        assert client.get(URL, {"kind": "gossip"}).status_code == 400
        assert client.get(URL, {"since": "yesterday"}).status_code == 400


def test_text_the_database_cannot_hold_is_a_400_not_a_crash(api_as, agent):
    response = api_as(agent).post(URL, {"events": [{"kind": "prompt", "task_ref": "\u0000run"}]}, format="json")
    assert response.status_code == 400
    assert "NUL" in str(response.json()["fields"]["events"]["0"]["task_ref"])
