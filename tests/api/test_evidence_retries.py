"""`/api/v1/evidence/` with an `Idempotency-Key`: a retry whose first answer was lost records
nothing twice, and a key is never silently reused for other events."""

import threading

import pytest
from django.db import connection

from governance.evidence.models import EvidenceBatch, EvidenceRecord
from tests import factories
from tests.conftest import require_service

URL = "/api/v1/evidence/"
EVENTS = [
    {"kind": "prompt", "summary": "Plan", "payload": {"prompt": "Fix the build"}},
    {"kind": "tool_call", "tool_name": "git.push", "target_resource": "org/repo", "outcome": "success"},
]


def post(client, events, key):
    return client.post(URL, {"events": events}, format="json", headers={"Idempotency-Key": key})


@pytest.mark.django_db
def test_a_retry_with_the_same_key_answers_with_the_first_records_and_records_nothing(api_as, agent, workflow):
    client = api_as(agent)
    first = post(client, EVENTS, "batch-7f3a")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(client, EVENTS, "batch-7f3a")
    assert again.status_code == 201, again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert EvidenceRecord.objects.filter(workflow=workflow).count() == 2


@pytest.mark.django_db
def test_without_a_key_every_call_is_recorded(api_as, agent, workflow):
    client = api_as(agent)
    assert client.post(URL, {"events": EVENTS}, format="json").status_code == 201
    assert client.post(URL, {"events": EVENTS}, format="json").status_code == 201
    assert EvidenceRecord.objects.filter(workflow=workflow).count() == 4


@pytest.mark.django_db
def test_a_key_sent_again_with_other_events_is_a_conflict_and_records_nothing(api_as, agent, workflow):
    client = api_as(agent)
    assert post(client, EVENTS, "batch-1").status_code == 201
    other = post(client, [{"kind": "action", "outcome": "success"}], "batch-1")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert EvidenceRecord.objects.filter(workflow=workflow).count() == 2


@pytest.mark.django_db
def test_a_key_belongs_to_its_workload(api_as, agent, workflow):
    # Another agent of the same workflow using the same key gets its own records: a key
    # never lets one workload read back, or suppress, another's events.
    neighbour = factories.WorkloadIdentityFactory(workflow=workflow, owner=workflow.control_owner)
    first = post(api_as(agent), EVENTS, "shared-key")
    second = post(api_as(neighbour), EVENTS, "shared-key")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert {r.workload_id for r in EvidenceRecord.objects.filter(workflow=workflow)} == {agent.pk, neighbour.pk}
    assert EvidenceRecord.objects.filter(workflow=workflow).count() == 4


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["k" * 201, "tab\tinside"])
def test_an_unusable_key_is_a_400_naming_the_header(api_as, agent, workflow, key):
    response = post(api_as(agent), EVENTS, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert not EvidenceRecord.objects.filter(workflow=workflow).exists()


@pytest.mark.django_db
def test_an_invalid_batch_does_not_use_up_its_key(api_as, agent, workflow):
    client = api_as(agent)
    assert post(client, [{"kind": "no-such-kind"}], "batch-2").status_code == 400
    assert not EvidenceBatch.objects.exists()
    assert post(client, EVENTS, "batch-2").status_code == 201
    assert EvidenceRecord.objects.filter(workflow=workflow).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_batch_record_it_once(api_as, agent, workflow):
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    answers = []

    def retry():
        try:
            answers.append(post(api_as(agent), EVENTS, "raced").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201] * 6
    assert EvidenceRecord.objects.filter(workflow=workflow).count() == 2
    assert EvidenceBatch.objects.get(idempotency_key="raced").count == 2
