"""Who is calling: Bearer API keys for workloads and people, the session (with CSRF) for browsers."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from identities.models import ApiKey, hash_api_key
from identities.services import issue_api_key, revoke_api_key, rotate_api_key
from tests.factories import PASSWORD, WorkflowFactory

pytestmark = pytest.mark.django_db

WORKFLOWS = "/api/v1/workflows/"


def bearer(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_without_credentials_the_api_answers_401_with_a_bearer_challenge(workflow):
    response = APIClient().get(WORKFLOWS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "status": 401,
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "fields": {},
    }


@pytest.mark.parametrize(
    "header",
    ["Bearer mdt_deadbeef_not-a-key", "Bearer", "Bearer two parts", "Bearer eyJhbGciOi.not.a-key"],
)
def test_a_wrong_or_malformed_key_is_refused_without_falling_back_to_the_session(client, owner, workflow, header):
    client.login(username=owner.username, password=PASSWORD)
    response = client.get(WORKFLOWS, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_workload_key_makes_the_workload_the_caller_and_sees_only_its_workflow(agent, workflow):
    other = WorkflowFactory()
    _, plaintext = issue_api_key(workload=agent)
    response = bearer(plaintext).get(WORKFLOWS)
    assert response.status_code == 200
    assert [w["slug"] for w in response.json()["results"]] == [workflow.slug]
    assert bearer(plaintext).get(f"{WORKFLOWS}{other.slug}/").status_code == 404


def test_a_personal_access_token_acts_with_its_owners_permissions(owner, outsider, workflow):
    workflow.status = "draft"
    workflow.save()
    _, owner_token = issue_api_key(user=owner)
    _, outsider_token = issue_api_key(user=outsider)
    assert bearer(owner_token).get(f"{WORKFLOWS}{workflow.slug}/").status_code == 200
    assert bearer(outsider_token).get(f"{WORKFLOWS}{workflow.slug}/").status_code == 404


def test_a_personal_token_names_its_owner_in_the_audit_log(owner, workflow):
    from auditlog.models import LogEntry

    _, token = issue_api_key(user=owner)
    response = bearer(token).patch(f"{WORKFLOWS}{workflow.slug}/", {"description": "Now documented."})
    assert response.status_code == 200
    entry = LogEntry.objects.get_for_object(workflow).latest("timestamp")
    assert entry.actor == owner


def test_a_deactivated_persons_token_stops_working(owner, workflow):
    _, token = issue_api_key(user=owner)
    owner.is_active = False
    owner.save()
    assert bearer(token).get(WORKFLOWS).status_code == 401


def test_a_key_records_when_it_was_last_used(agent):
    key, plaintext = issue_api_key(workload=agent)
    bearer(plaintext).get(WORKFLOWS)
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_a_revoked_key_is_refused_at_once(agent):
    key, plaintext = issue_api_key(workload=agent)
    revoke_api_key(key)
    assert bearer(plaintext).get(WORKFLOWS).status_code == 401


def test_a_rotated_key_keeps_working_for_its_grace_period_only(agent):
    old, old_plain = issue_api_key(workload=agent)
    _, new_plain = rotate_api_key(old, grace=timedelta(minutes=10))
    assert bearer(old_plain).get(WORKFLOWS).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert bearer(old_plain).get(WORKFLOWS).status_code == 401
        assert bearer(new_plain).get(WORKFLOWS).status_code == 200


def test_a_suspended_workload_is_refused_with_a_reason(agent):
    _, plaintext = issue_api_key(workload=agent)
    agent.status = "suspended"
    agent.save()
    response = bearer(plaintext).get(WORKFLOWS)
    assert response.status_code == 403
    assert "suspended" in response.json()["message"]


def test_the_browser_session_works_for_reads_and_needs_the_csrf_token_for_writes(owner, workflow):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username=owner.username, password=PASSWORD)
    assert client.get(WORKFLOWS).status_code == 200
    refused = client.patch(f"{WORKFLOWS}{workflow.slug}/", {"description": "x"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    client.get("/admin/login/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.patch(f"{WORKFLOWS}{workflow.slug}/", {"description": "x"}, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200


def test_issue_api_key_prints_one_working_key_for_scripting(agent, capsys):
    call_command("issue_api_key", agent.slug, name="ci")
    out = capsys.readouterr().out.strip()
    assert out.startswith("mdt_") and "\n" not in out
    key = ApiKey.objects.get(key_hash=hash_api_key(out))
    assert key.workload == agent and key.name == "ci"
    assert bearer(out).get(WORKFLOWS).status_code == 200


def test_issue_api_key_refuses_an_unknown_or_suspended_workload(agent):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No workload identity"):
        call_command("issue_api_key", "nobody")
    agent.status = "suspended"
    agent.save()
    with pytest.raises(CommandError, match="not active"):
        call_command("issue_api_key", agent.slug)


def test_issue_api_key_prints_a_personal_access_token_for_a_person(owner, capsys):
    call_command("issue_api_key", user=owner.username)
    token = capsys.readouterr().out.strip()
    assert ApiKey.objects.get(key_hash=hash_api_key(token)).user == owner
    assert bearer(token).get(WORKFLOWS).status_code == 200
