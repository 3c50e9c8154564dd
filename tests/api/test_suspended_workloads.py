"""A suspended workload can do nothing through the API but be told no; its workflow's
owners lift the suspension, and nothing it had comes back by itself."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from approvals.services import suspend_workload
from tests.factories import EntitlementFactory, PolicyFactory, WorkloadIdentityFactory

pytestmark = pytest.mark.django_db

READ = "github:repo:read"


@pytest.fixture
def read_policy(workflow):
    return PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=READ, access_level="read"))


@pytest.fixture
def suspended(api_as, agent, requester, workflow, read_policy):
    """The agent, holding a grant (and its token), then suspended: (its client, its grant token)."""
    client = api_as(agent)
    answer = client.post(
        "/api/v1/access-requests/",
        {
            "workflow": workflow.slug,
            "entitlement": READ,
            "task_ref": "T-1",
            "justification": "Triage T-1.",
            "duration_seconds": 600,
            "on_behalf_of": requester.username,
        },
    ).json()
    assert answer["state"] == "active", answer["decision"]["reasons"]
    suspend_workload(agent, reason="Leaked its key.")
    return client, answer["grant"]["token"]


def every_operation():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method in item:
            yield method, path.replace("{id}", "1").replace("{slug}", "x")


def test_a_suspended_workloads_key_is_refused_everywhere_but_the_check(suspended):
    client, _ = suspended
    answered = []
    for method, path in every_operation():
        if path == "/api/v1/authorize":
            continue
        response = getattr(client, method)(path, {})
        assert response.status_code == 403, (method, path, response.json())
        assert response.json()["code"] == "permission_denied"
        assert "suspended" in response.json()["message"]
        answered.append(path)
    assert len(answered) > 30  # every route and verb, not a sample


def test_the_check_answers_a_suspended_workload_no_with_the_reason(suspended, workflow):
    client, _ = suspended
    response = client.post("/api/v1/authorize", {"workflow": workflow.slug, "scope": READ})
    assert response.status_code == 200
    assert response.json()["allow"] is False and "suspended" in response.json()["reasons"][0]


def test_its_grant_token_gets_the_same_answer(suspended, workflow):
    from rest_framework.test import APIClient

    _, token = suspended
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post("/api/v1/authorize", {"workflow": workflow.slug, "scope": READ})
    assert response.status_code == 200 and response.json()["allow"] is False
    assert response.json()["reasons"]
    assert client.get("/api/v1/grants/").status_code == 401  # a grant token opens nothing else


def test_an_owner_reactivates_it_and_it_must_ask_for_access_again(api_as, suspended, agent, backup_owner, workflow):
    client, _ = suspended
    response = api_as(backup_owner).post(
        f"/api/v1/workload-identities/{agent.slug}/reactivate/", {"reason": "Key rotated; cause fixed."}
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["status_reason"]) == ("active", "Key rotated; cause fixed.")
    assert client.get("/api/v1/grants/").status_code == 200
    check = client.post("/api/v1/authorize", {"workflow": workflow.slug, "scope": READ}).json()
    assert check["allow"] is False  # its grant stayed revoked


def test_reactivating_needs_a_reason_and_a_suspended_workload(api_as, owner, agent):
    client = api_as(owner)
    url = f"/api/v1/workload-identities/{agent.slug}/reactivate/"
    assert client.post(url, {"reason": "Nothing wrong."}).status_code == 409  # it is active
    suspend_workload(agent, reason="Drill.")
    missing = client.post(url, {})
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]


def test_the_workloads_own_owner_may_suspend_but_not_reactivate_it(api_as, workflow, requester):
    own = WorkloadIdentityFactory(workflow=workflow, owner=requester, slug="requesters-bot")
    client = api_as(requester)
    assert client.post(f"/api/v1/workload-identities/{own.slug}/suspend/", {"reason": "Odd."}).status_code == 200
    refused = client.post(f"/api/v1/workload-identities/{own.slug}/reactivate/", {"reason": "Fine now."})
    assert refused.status_code == 403
    own.refresh_from_db()
    assert own.status == "suspended"


def test_a_workload_whose_owner_left_is_handed_over_before_it_is_reactivated(api_as, owner, workflow, requester):
    orphan = WorkloadIdentityFactory(workflow=workflow, owner=requester, slug="orphan")
    suspend_workload(orphan, reason="Its owner left.")
    requester.is_active = False
    requester.save()
    refused = api_as(owner).post(f"/api/v1/workload-identities/{orphan.slug}/reactivate/", {"reason": "Needed."})
    assert refused.status_code == 409 and "hand the workload over" in refused.json()["message"]
    orphan.refresh_from_db()
    assert orphan.status == "suspended"
