"""Agents report prompt, tool, data and action events in batches: all valid, or none recorded."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.services import submit_request
from governance.evidence.models import EvidenceRecord
from governance.evidence.serializers import EvidenceItemSerializer
from governance.evidence.services import MAX_BATCH, ingest_evidence_batch, record_evidence
from governance.exceptions import InvalidInput
from tests import factories

pytestmark = pytest.mark.django_db


def tool_call(**fields):
    return {"kind": "tool_call", "tool_name": "github.create_branch", "outcome": "success", **fields}


def test_a_valid_batch_is_recorded_in_order_on_the_workload_workflow(agent, workflow):
    records = ingest_evidence_batch(
        agent,
        [
            {"kind": "prompt", "summary": "Plan the fix", "payload": {"prompt": "Fix issue 12"}},
            tool_call(target_resource="github:org/repo", task_ref="run-1"),
            {"kind": "data_access", "target_resource": "warehouse.customers", "data_classification": "confidential"},
            {"kind": "action", "outcome": "failure", "summary": "Push rejected"},
        ],
    )
    assert [r.sequence for r in records] == [1, 2, 3, 4]
    assert [r.kind for r in records] == ["prompt", "tool_call", "data_access", "action"]
    assert all(r.workflow_id == workflow.pk and r.workload_id == agent.pk for r in records)
    assert EvidenceRecord.objects.filter(workflow=workflow).count() == 4


def test_one_invalid_item_refuses_the_whole_batch_with_errors_per_item(agent):
    items = [
        tool_call(),
        {"kind": "grant", "summary": "I granted myself admin"},
        tool_call(data_classification="top-secret"),
        tool_call(occurred_at="yesterday", colour="blue"),
    ]
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, items)
    errors = caught.value.field_errors
    assert set(errors) == {1, 2, 3}
    assert "recorded by Mandate itself" in errors[1]["kind"][0]
    assert "data_classification" in errors[2]
    assert "occurred_at" in errors[3] and "Unknown field(s): colour" in errors[3]["non_field_errors"][0]
    assert "3 of 4 events are invalid; nothing was recorded" in caught.value.message
    assert not EvidenceRecord.objects.exists()


def test_a_batch_holds_at_most_a_thousand_events(agent):
    with pytest.raises(InvalidInput, match="At most 1000 events"):
        ingest_evidence_batch(agent, [tool_call()] * (MAX_BATCH + 1))
    assert len(ingest_evidence_batch(agent, [tool_call()] * MAX_BATCH)) == MAX_BATCH


@pytest.mark.parametrize("items", [[], None, {"kind": "tool_call"}], ids=["empty", "none", "not-a-list"])
def test_a_batch_must_be_a_non_empty_list(agent, items):
    with pytest.raises(InvalidInput, match="non-empty list"):
        ingest_evidence_batch(agent, items)


def test_agents_report_only_their_own_outcomes(agent):
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, [tool_call(outcome="approved")])
    assert "outcome" in caught.value.field_errors[0]


def test_events_from_the_future_are_refused_but_late_reports_are_kept(agent):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, [tool_call(occurred_at=future)])
    assert caught.value.field_errors[0]["occurred_at"] == ["Is in the future."]
    with pytest.raises(InvalidInput, match="invalid") as caught:
        ingest_evidence_batch(agent, [tool_call(occurred_at="2026-01-01T10:00:00")])
    assert "time zone" in caught.value.field_errors[0]["occurred_at"][0]
    (record,) = ingest_evidence_batch(agent, [tool_call(occurred_at="2025-06-01T10:00:00Z")])
    assert record.occurred_at.year == 2025 and record.recorded_at > record.occurred_at


def test_only_the_payload_hash_is_kept_by_default(agent, settings):
    settings.EVIDENCE_STORE_RAW_PAYLOADS = False
    (record,) = ingest_evidence_batch(agent, [tool_call(payload={"prompt": "my password is hunter2"})])
    expected = hashlib.sha256(b'{"prompt":"my password is hunter2"}').hexdigest()
    assert record.payload_sha256 == expected
    assert EvidenceRecord.objects.get(pk=record.pk).raw_payload is None


def test_raw_payloads_are_kept_when_enabled(agent, settings):
    settings.EVIDENCE_STORE_RAW_PAYLOADS = True
    (record,) = ingest_evidence_batch(agent, [tool_call(payload={"b": 2, "a": "é"})])
    stored = EvidenceRecord.objects.get(pk=record.pk).raw_payload
    assert stored == '{"a":"é","b":2}'
    assert hashlib.sha256(stored.encode()).hexdigest() == record.payload_sha256


def test_a_payload_over_the_limit_is_refused_with_the_limit_named(agent, settings):
    settings.EVIDENCE_MAX_PAYLOAD_BYTES = 100
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, [tool_call(payload={"prompt": "x" * 200})])
    message = caught.value.field_errors[0]["payload"][0]
    assert "the limit is 100 bytes" in message and "payload_sha256" in message
    with pytest.raises(InvalidInput, match="invalid"):
        record_evidence(workflow=agent.workflow, kind="prompt", payload="x" * 200)


def test_an_agent_may_send_only_the_hash_of_its_payload(agent):
    digest = hashlib.sha256(b"kept at home").hexdigest()
    (record,) = ingest_evidence_batch(agent, [tool_call(payload_sha256=digest.upper())])
    assert record.payload_sha256 == digest
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, [tool_call(payload_sha256="abc")])
    assert "64 lowercase hexadecimal" in caught.value.field_errors[0]["payload_sha256"][0]
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, [tool_call(payload={"a": 1}, payload_sha256=digest)])
    assert "Does not match" in caught.value.field_errors[0]["payload_sha256"][0]


def test_summaries_are_redacted(agent):
    (record,) = ingest_evidence_batch(
        agent,
        [
            tool_call(
                summary="Called API with Authorization: Bearer abcdefghijklmnop, api_key=sk-live-123 "
                "for alice@example.com using mdt_0123abcd_" + "Z" * 40
            )
        ],
    )
    assert "abcdefghijklmnop" not in record.summary and "sk-live-123" not in record.summary
    assert "alice@example.com" not in record.summary and "ZZZZ" not in record.summary
    assert "Bearer [REDACTED]" in record.summary and "[email]" in record.summary


def test_an_over_long_summary_is_refused_for_agents_and_cut_for_services(agent):
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, [tool_call(summary="x" * 1001)])
    assert "At most 1000 characters" in caught.value.field_errors[0]["summary"][0]
    record = record_evidence(workflow=agent.workflow, kind="action", summary="y" * 5000)
    assert len(record.summary) == 1000 and record.summary.endswith("…")


def test_the_person_acted_for_comes_from_the_grant_not_from_the_agent(agent, workflow, requester):
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement)
    request = submit_request(
        workflow=workflow,
        entitlement=entitlement,
        duration_seconds=600,
        workload=agent,
        on_behalf_of=requester,
        task_ref="run-9",
        justification="Read the repository",
    )
    grant = request.grant
    by_grant, by_task = ingest_evidence_batch(agent, [tool_call(grant=grant.pk), tool_call(task_ref="run-9")])
    assert by_grant.grant_id == grant.pk and by_grant.on_behalf_of_id == requester.pk
    assert by_grant.access_request_id == request.pk
    assert by_task.on_behalf_of_id == requester.pk and by_task.grant_id is None


def test_a_grant_of_another_workload_is_refused(agent, workflow, owner):
    other_agent = factories.WorkloadIdentityFactory(workflow=workflow, owner=owner)
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement)
    grant = submit_request(
        workflow=workflow,
        entitlement=entitlement,
        duration_seconds=600,
        workload=other_agent,
        on_behalf_of=owner,
        task_ref="run-1",
        justification="x",
    ).grant
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, [tool_call(grant=grant.pk)])
    assert "is not a grant of workload" in caught.value.field_errors[0]["grant"][0]


def test_values_of_the_wrong_type_are_refused_not_crashed_on(agent):
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(
            agent,
            [
                {"kind": ["tool_call"]},
                tool_call(outcome={"ok": True}, data_classification=3, summary=42),
                tool_call(payload_sha256=7, grant="12"),
                "not an object",
            ],
        )
    errors = caught.value.field_errors
    assert set(errors[0]) == {"kind"} and set(errors[1]) == {"outcome", "data_classification", "summary"}
    assert set(errors[2]) == {"payload_sha256", "grant"} and "JSON object" in errors[3]["non_field_errors"][0]


def test_text_that_is_not_unicode_and_ids_out_of_range_are_refused(agent):
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(
            agent,
            [tool_call(summary="half a \udb32 pair", payload={"k": "\ud800"}, grant=2**70, **{"\udc00": 1})],
        )
    errors = caught.value.field_errors[0]
    assert "valid Unicode" in errors["summary"][0] and "plain JSON" in errors["payload"][0]
    assert "grant" in errors and "\\udc00" in errors["non_field_errors"][0]


def test_text_with_nul_characters_is_refused(agent):
    with pytest.raises(InvalidInput) as caught:
        ingest_evidence_batch(agent, [tool_call(tool_name="bad\x00name")])
    assert "NUL" in caught.value.field_errors[0]["tool_name"][0]


def test_the_item_serializer_reports_the_same_errors(agent):
    serializer = EvidenceItemSerializer(data={"kind": "review"}, context={"workload": agent})
    assert not serializer.is_valid()
    assert "recorded by Mandate itself" in serializer.errors["kind"][0]
    good = EvidenceItemSerializer(data=tool_call(), context={"workload": agent})
    assert good.is_valid(), good.errors
