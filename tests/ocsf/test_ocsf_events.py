"""Evidence as OCSF events, validated against the OCSF 1.7.0 schema (pydantic-ocsf models)."""

import json

import pytest
from ocsf.v1_7_0 import events as ocsf_events
from pydantic import BaseModel

from approvals.services import submit_request
from governance.evidence import ocsf
from governance.evidence.services import record_evidence
from governance.evidence.stream import ocsf_lines, sealed_records
from tests.factories import EntitlementFactory, PolicyFactory

pytestmark = pytest.mark.django_db

CLASSES = {3003: ocsf_events.AuthorizeSession, 6003: ocsf_events.ApiActivity, 3001: ocsf_events.AccountChange}


def unknown_attributes(model, path="event"):
    """Attributes the schema does not define (pydantic-ocsf keeps them as extras)."""
    found = [f"{path}.{name}" for name in (model.model_extra or {}) if not path.endswith("unmapped")]
    for name, value in model:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, BaseModel) and name not in ("unmapped", "data"):
                found += unknown_attributes(item, f"{path}.{name}")
    return found


def validate(event):
    model = CLASSES[event["class_uid"]].model_validate(event)
    assert unknown_attributes(model) == [], unknown_attributes(model)
    # What we send is what the schema's model serialises back (ids, names, uids agree).
    dumped = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    for key in ("class_uid", "category_uid", "activity_id", "activity_name", "type_uid", "severity_id", "status_id"):
        assert dumped.get(key) == event.get(key), key
    return model


@pytest.fixture
def trail(workflow, agent, owner, requester):
    """Every kind of evidence Mandate writes or receives, for one workload."""
    from approvals.services import revoke_grant, suspend_workload
    from governance.reviews.services import open_campaign

    read = PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope="github:repo:read"))
    asked = submit_request(
        workflow=workflow,
        entitlement=read.entitlement,
        workload=agent,
        on_behalf_of=requester,
        task_ref="T-1",
        justification="Read the repo.",
        duration_seconds=600,
    )
    for kind in ("prompt", "tool_call", "data_access", "action"):
        record_evidence(
            workflow=workflow,
            kind=kind,
            workload=agent,
            tool_name="git.clone",
            target_resource="repo:x",
            outcome="success",
            summary=f"A {kind}",
            task_ref="T-1",
            grant=asked.grant,
        )
    record_evidence(
        workflow=workflow,
        kind="authorization",
        workload=agent,
        outcome="allowed",
        target_resource="github:repo:read",
        grant=asked.grant,
        summary="allowed",
    )
    record_evidence(
        workflow=workflow,
        kind="authorization",
        workload=agent,
        outcome="denied",
        target_resource="github:repo:write",
        summary="denied",
    )
    revoke_grant(asked.grant, by=owner, reason="Done.")
    open_campaign(workflow)
    suspend_workload(agent, by=owner, reason="Drill.")
    return workflow


def test_every_record_becomes_a_valid_ocsf_event_of_the_right_class(trail, agent):
    rows = list(sealed_records().filter(workflow=trail).order_by("sequence").values(*ocsf.FIELDS))
    kinds = {row["kind"] for row in rows}
    assert {"request", "grant", "authorization", "prompt", "tool_call", "data_access", "action", "workload"} <= kinds
    classes = set()
    for row in rows:
        event = ocsf.event(row)
        validate(event)
        classes.add(event["class_uid"])
        names = {e["name"]: e["value"] for e in event["enrichments"]}
        assert names["workflow"] == trail.slug
        assert event["metadata"]["sequence"] == row["sequence"]
        assert event["metadata"]["uid"] == f"{trail.slug}/{row['sequence']}"
        assert event["unmapped"]["record_hash"] == row["record_hash"]
        if row["workload__slug"]:
            assert names["workload"] == agent.slug and names["owner"] == agent.owner.username
        if row["grant_id"]:
            assert names["grant"] == str(row["grant_id"])
    assert classes == {3001, 3003, 6003}


def test_decisions_map_to_authorize_session_with_success_or_failure(trail):
    rows = sealed_records().filter(workflow=trail, kind="authorization").order_by("sequence").values(*ocsf.FIELDS)
    allowed, denied = (ocsf.event(row) for row in rows)
    assert (allowed["class_uid"], allowed["status"], allowed["privileges"]) == (3003, "Success", ["github:repo:read"])
    assert (denied["status"], denied["privileges"]) == ("Failure", ["github:repo:write"])
    assert denied["severity_id"] > allowed["severity_id"]


def test_grants_attach_and_detach_a_policy_and_suspension_disables(trail):
    events = [json.loads(line) for line in ocsf_lines(sealed_records().filter(workflow=trail).order_by("sequence"))]
    names = [(e["class_uid"], e["activity_name"]) for e in events]
    assert (3001, "Attach Policy") in names and (3001, "Detach Policy") in names and (3001, "Disable") in names
    assert any(e["class_uid"] == 6003 and e["api"]["operation"] == "git.clone" for e in events)


def test_the_streamed_export_is_json_lines_resumable_after_a_position(api_as, auditor, owner, outsider, trail):
    client = api_as(auditor)
    response = client.get(f"/api/v1/evidence/ocsf/?workflow={trail.slug}")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    for event in lines:
        validate(event)
    positions = [e["metadata"]["sequence"] for e in lines]
    assert positions == list(range(1, len(lines) + 1))
    later = client.get(f"/api/v1/evidence/ocsf/?workflow={trail.slug}&after=3")
    rest = [json.loads(line) for line in b"".join(later.streaming_content).decode().splitlines()]
    assert [e["metadata"]["sequence"] for e in rest] == positions[3:]
    assert client.get("/api/v1/evidence/ocsf/?after=3").status_code == 400
    assert api_as(owner).get(f"/api/v1/evidence/ocsf/?workflow={trail.slug}").status_code == 200
    assert api_as(outsider).get("/api/v1/evidence/ocsf/").status_code == 403
