"""Ticket queues through the API: administrators and auditors read the configuration (secrets
by reference only), administrators check it against the ticket system."""

import json
import os

import pytest

from tests import factories
from tests.queues.helpers import connect

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("ticket_system", ["jira"], indirect=True),
]

QUEUES = "/api/v1/queue-connections/"


@pytest.fixture
def admin(identity_source):
    return factories.UserFactory(username="admin", is_superuser=True, is_staff=True, identity_source=identity_source)


@pytest.fixture
def queue(ticket_system, workflow):
    return connect(workflow, ticket_system)


def test_auditors_and_administrators_read_the_configuration_never_the_secret(
    api_as, ticket_system, queue, workflow, auditor, admin
):
    secret = os.environ[queue.credential_ref.removeprefix("env:")]
    webhook_secret = os.environ[queue.webhook_secret_ref.removeprefix("env:")]
    for person in (auditor, admin):
        client = api_as(person)
        listed = client.get(QUEUES)
        detail = client.get(f"{QUEUES}{queue.pk}/")
        assert listed.status_code == detail.status_code == 200
        assert [q["id"] for q in listed.json()["results"]] == [queue.pk]
        body = detail.json()
        assert (body["kind"], body["project"], body["workflows"]) == ("jira", "ACC", [workflow.slug])
        assert body["credential_ref"] == queue.credential_ref
        assert body["webhook_url"].endswith(f"/hooks/tickets/{queue.pk}/")
        assert body["effective_status_mapping"]["approve"]
        for text in (listed.content.decode(), detail.content.decode()):
            assert secret not in text and webhook_secret not in text


@pytest.mark.parametrize("persona", ["owner", "requester", "agent"])
def test_nobody_else_sees_a_queue(api_as, persona, request, queue):
    client = api_as(request.getfixturevalue(persona))
    assert client.get(QUEUES).json()["count"] == 0
    assert client.get(f"{QUEUES}{queue.pk}/").status_code == 404
    assert client.post(f"{QUEUES}{queue.pk}/test/").status_code == 404


def test_an_administrator_checks_a_queue_and_its_health_is_recorded(api_as, admin, queue):
    response = api_as(admin).post(f"{QUEUES}{queue.pk}/test/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ok"] is True and body["messages"]
    assert body["connection"]["last_success_at"] and body["connection"]["last_error"] == ""


def test_a_failed_check_says_what_is_wrong_without_the_secret(api_as, admin, queue, monkeypatch):
    queue.credential_ref = "env:MANDATE_TEST_UNSET_VARIABLE"
    queue.save()
    monkeypatch.delenv("MANDATE_TEST_UNSET_VARIABLE", raising=False)
    response = api_as(admin).post(f"{QUEUES}{queue.pk}/test/")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and "MANDATE_TEST_UNSET_VARIABLE" in " ".join(body["messages"])
    assert body["connection"]["last_error"] and body["connection"]["last_error_at"]
    queue.refresh_from_db()
    assert "MANDATE_TEST_UNSET_VARIABLE" in queue.last_error


def test_auditors_may_not_run_the_check(api_as, auditor, queue):
    refused = api_as(auditor).post(f"{QUEUES}{queue.pk}/test/")
    assert refused.status_code == 403 and "administrators" in refused.json()["message"]
    queue.refresh_from_db()
    assert queue.last_success_at is None


def test_queues_filter_by_kind_and_health(api_as, auditor, queue):
    queue.last_error = "Refused credential."
    queue.save()
    client = api_as(auditor)

    def names(query):
        return [q["name"] for q in json.loads(client.get(f"{QUEUES}?{query}").content)["results"]]

    assert names("kind=jira") == [queue.name]
    assert names("kind=rt") == []
    assert names("failing=true") == [queue.name]
    assert names("failing=false") == []
