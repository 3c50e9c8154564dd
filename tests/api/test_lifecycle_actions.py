"""Idempotent create, and the request and grant actions with their 403 / 409 / no-op answers."""

import pytest

from approvals.models import AccessRequest, Grant
from tests.factories import EntitlementFactory, PolicyFactory

pytestmark = pytest.mark.django_db

READ, WRITE = "github:repo:read", "github:repo:write"


@pytest.fixture
def policies(workflow):
    PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=READ, access_level="read"))
    PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=WRITE, access_level="write"))


def ask(workflow, scope, **extra):
    return {
        "workflow": workflow.slug,
        "entitlement": scope,
        "task_ref": "T-1",
        "justification": "Needed for T-1.",
        "duration_seconds": 600,
        **extra,
    }


def test_a_retried_create_with_the_same_idempotency_key_returns_the_same_request(
    api_as, agent, workflow, requester, policies
):
    client = api_as(agent)
    body = ask(workflow, READ, on_behalf_of=requester.username)
    first = client.post("/api/v1/access-requests/", body, HTTP_IDEMPOTENCY_KEY="run-42")
    again = client.post("/api/v1/access-requests/", body, HTTP_IDEMPOTENCY_KEY="run-42")
    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["state"] == "active"
    assert AccessRequest.objects.count() == 1 and Grant.objects.count() == 1
    # Another key is another request.
    assert (
        client.post("/api/v1/access-requests/", body, HTTP_IDEMPOTENCY_KEY="run-43").json()["id"] != first.json()["id"]
    )


def test_an_idempotency_key_reused_for_another_body_is_a_409(api_as, agent, workflow, requester, policies):
    client = api_as(agent)
    client.post(
        "/api/v1/access-requests/", ask(workflow, READ, on_behalf_of=requester.username), HTTP_IDEMPOTENCY_KEY="k"
    )
    clash = client.post(
        "/api/v1/access-requests/", ask(workflow, WRITE, on_behalf_of=requester.username), HTTP_IDEMPOTENCY_KEY="k"
    )
    assert clash.status_code == 409 and clash.json()["code"] == "idempotency_conflict"


def test_idempotency_keys_belong_to_their_caller(api_as, agent, requester, workflow, policies):
    api_as(agent).post(
        "/api/v1/access-requests/", ask(workflow, READ, on_behalf_of=requester.username), HTTP_IDEMPOTENCY_KEY="k"
    )
    mine = api_as(requester).post("/api/v1/access-requests/", ask(workflow, READ), HTTP_IDEMPOTENCY_KEY="k")
    assert mine.status_code == 201 and AccessRequest.objects.count() == 2


def test_approving_a_decided_request_is_a_409(api_as, owner, requester, workflow, policies):
    pending = api_as(requester).post("/api/v1/access-requests/", ask(workflow, WRITE)).json()
    owner_client = api_as(owner)
    assert (
        owner_client.post(f"/api/v1/access-requests/{pending['id']}/deny/", {"comment": "No."}).json()["state"]
        == "denied"
    )
    again = owner_client.post(f"/api/v1/access-requests/{pending['id']}/approve/")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"


def test_nobody_approves_their_own_request(api_as, owner, workflow, policies):
    client = api_as(owner)
    pending = client.post("/api/v1/access-requests/", ask(workflow, WRITE)).json()
    refused = client.post(f"/api/v1/access-requests/{pending['id']}/approve/")
    assert refused.status_code == 403 and "separation of duties" in refused.json()["message"]


def test_the_requester_cancels_a_pending_request_and_cannot_cancel_it_once_decided(
    api_as, owner, requester, workflow, policies
):
    client = api_as(requester)
    pending = client.post("/api/v1/access-requests/", ask(workflow, WRITE)).json()
    assert client.post(f"/api/v1/access-requests/{pending['id']}/cancel/").json()["state"] == "cancelled"
    other = client.post("/api/v1/access-requests/", ask(workflow, WRITE, task_ref="T-2")).json()
    api_as(owner).post(f"/api/v1/access-requests/{other['id']}/approve/")
    assert client.post(f"/api/v1/access-requests/{other['id']}/cancel/").status_code == 409


def test_revoking_twice_is_a_no_op_200(api_as, owner, requester, workflow, policies):
    grant = api_as(requester).post("/api/v1/access-requests/", ask(workflow, READ)).json()["grant"]
    client = api_as(owner)
    first = client.post(f"/api/v1/grants/{grant['id']}/revoke/", {"comment": "Done early."})
    second = client.post(f"/api/v1/grants/{grant['id']}/revoke/", {"comment": "Again."})
    assert first.status_code == second.status_code == 200
    assert second.json()["state"] == "revoked" and second.json()["end_reason"] == "Done early."
    assert second.json()["revoked_by"] == owner.username


def test_extending_a_read_grant_goes_through_the_policy_and_moves_expiry(api_as, requester, workflow, policies):
    client = api_as(requester)
    grant = client.post("/api/v1/access-requests/", ask(workflow, READ)).json()["grant"]
    extension = client.post(f"/api/v1/grants/{grant['id']}/extend/", {"duration_seconds": 1800, "comment": "More."})
    assert extension.status_code == 201
    assert extension.json()["state"] == "active" and extension.json()["extends"] == grant["id"]
    assert extension.json()["grant"]["expires_at"] > grant["expires_at"]


def test_grants_filter_by_subject_workflow_state_and_expiry(api_as, auditor, requester, agent, workflow, policies):
    api_as(requester).post("/api/v1/access-requests/", ask(workflow, READ))
    api_as(agent).post("/api/v1/access-requests/", ask(workflow, READ, on_behalf_of=requester.username))
    client = api_as(auditor)
    assert client.get("/api/v1/grants/", {"subject": agent.slug}).json()["count"] == 1
    assert client.get("/api/v1/grants/", {"subject": requester.email}).json()["count"] == 2
    assert client.get("/api/v1/grants/", {"workflow": workflow.slug, "state": "active"}).json()["count"] == 2
    assert client.get("/api/v1/grants/", {"expiring_before": "2000-01-01T00:00:00Z"}).json()["count"] == 0
    assert client.get("/api/v1/grants/", {"state": "revoked"}).json()["count"] == 0
    ordered = client.get("/api/v1/grants/", {"ordering": "expires_at"}).json()["results"]
    assert [g["expires_at"] for g in ordered] == sorted(g["expires_at"] for g in ordered)
    assert client.get("/api/v1/access-requests/", {"state": "active", "subject": agent.slug}).json()["count"] == 1
