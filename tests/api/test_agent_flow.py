"""The whole agent flow through HTTP only, as an agent and its owners would run it.

create key → request read (auto) → authorize allow → request write (pending) → owner
approves via the API → authorize allow → complete task → authorize deny.
"""

import jwt
import pytest
from rest_framework.test import APIClient

from tests.factories import EntitlementFactory, PolicyFactory, WorkloadIdentityFactory

pytestmark = pytest.mark.django_db

READ, WRITE = "github:repo:read", "github:repo:write"


@pytest.fixture
def coding_agent(workflow, requester):
    """A medium-risk workflow with a read and a write entitlement, and an agent run by the requester."""
    PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=READ, access_level="read"))
    PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=WRITE, access_level="write"))
    return WorkloadIdentityFactory(workflow=workflow, owner=requester, slug="coding-agent")


def bearer(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_the_agent_flow_end_to_end(api_as, owner, requester, workflow, coding_agent):
    # The agent's owner issues its key through the API.
    issued = api_as(requester).post("/api/v1/api-keys/", {"workload": coding_agent.slug, "name": "ci"})
    assert issued.status_code == 201, issued.json()
    agent = bearer(issued.json()["key"])
    ask = {"workflow": workflow.slug, "task_ref": "PLAT-1", "justification": "Fix the flaky test."}

    # Read access is auto-approved: an active grant, with its token, in the answer.
    read = agent.post(
        "/api/v1/access-requests/",
        {**ask, "entitlement": READ, "duration_seconds": 900, "on_behalf_of": requester.email},
    )
    assert read.status_code == 201, read.json()
    body = read.json()
    assert body["state"] == "active" and body["decision"]["effect"] == "auto_approve"
    assert body["decision"]["reasons"] and body["ticket"] is None
    assert body["grant"]["expires_at"] and body["grant"]["token"]
    claims = jwt.decode(body["grant"]["token"], options={"verify_signature": False})
    assert claims["scope"] == READ and claims["grant"] == body["grant"]["id"]

    check = {"workflow": workflow.slug, "task_ref": "PLAT-1"}
    allowed = agent.post("/api/v1/authorize", {**check, "scope": READ, "resource": "acme/app", "action": "clone"})
    assert allowed.status_code == 200
    assert allowed.json()["allow"] is True and allowed.json()["grant"] == body["grant"]["id"]

    # Write access waits for an owner; the answer says who may approve.
    write = agent.post(
        "/api/v1/access-requests/",
        {**ask, "entitlement": WRITE, "duration_seconds": 600, "on_behalf_of": requester.username},
    )
    assert write.status_code == 201
    pending = write.json()
    assert pending["state"] == "pending" and pending["grant"] is None
    assert owner.username in pending["decision"]["approvers"]
    denied_before = agent.post("/api/v1/authorize", {**check, "scope": WRITE}).json()
    assert denied_before["allow"] is False and denied_before["reasons"]

    approved = api_as(owner).post(f"/api/v1/access-requests/{pending['id']}/approve/", {"comment": "Go ahead."})
    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == "active"
    assert approved.json()["grant"]["token"] is None  # the token is the workload's, not the approver's
    assert [a["approver"] for a in approved.json()["approvals"]] == [owner.username]

    assert agent.post("/api/v1/authorize", {**check, "scope": WRITE}).json()["allow"] is True

    # The agent fetches its own token for the approved grant and uses it instead of the key.
    grant_id = approved.json()["grant"]["id"]
    minted = agent.post(f"/api/v1/grants/{grant_id}/token/")
    assert minted.status_code == 201
    with_token = bearer(minted.json()["token"]).post("/api/v1/authorize", {**check, "scope": WRITE})
    assert with_token.status_code == 200 and with_token.json()["allow"] is True

    done = agent.post("/api/v1/tasks/complete", {"workflow": workflow.slug, "task_ref": "PLAT-1"})
    assert done.status_code == 200 and done.json()["revoked_grants"] == 2

    for scope in (READ, WRITE):
        after = agent.post("/api/v1/authorize", {**check, "scope": scope}).json()
        assert after["allow"] is False
        assert after["reasons"] and "revoked" in after["reasons"][0]
    refused_token = bearer(minted.json()["token"]).post("/api/v1/authorize", {**check, "scope": WRITE}).json()
    assert refused_token["allow"] is False and refused_token["reasons"]


def test_a_grant_token_for_one_grant_does_not_authorize_another_scope(api_as, workflow, requester, coding_agent):
    agent = api_as(coding_agent)
    grant = agent.post(
        "/api/v1/access-requests/",
        {
            "workflow": workflow.slug,
            "entitlement": READ,
            "task_ref": "T",
            "justification": "j",
            "duration_seconds": 60,
            "on_behalf_of": requester.username,
        },
    ).json()["grant"]
    token_client = bearer(grant["token"])
    assert token_client.post("/api/v1/authorize", {"workflow": workflow.slug, "scope": READ}).json()["allow"]
    other = token_client.post("/api/v1/authorize", {"workflow": workflow.slug, "scope": WRITE}).json()
    assert other["allow"] is False and other["reasons"]
    # A grant token is a credential for the check only, not for the rest of the API.
    assert token_client.get("/api/v1/grants/").status_code == 401


def test_a_forged_or_garbled_grant_token_is_a_401(workflow):
    response = bearer("eyJhbGciOiJFUzI1NiJ9.e30.c2ln").post(
        "/api/v1/authorize", {"workflow": workflow.slug, "scope": READ}
    )
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_the_kill_switch_ends_the_agents_access_and_its_pending_requests(
    api_as, owner, workflow, requester, coding_agent
):
    agent = api_as(coding_agent)
    ask = {"workflow": workflow.slug, "task_ref": "T", "justification": "j", "on_behalf_of": requester.username}
    agent.post("/api/v1/access-requests/", {**ask, "entitlement": READ, "duration_seconds": 60})
    agent.post("/api/v1/access-requests/", {**ask, "entitlement": WRITE, "duration_seconds": 60})

    killed = api_as(owner).post(f"/api/v1/workload-identities/{coding_agent.slug}/suspend/", {"reason": "Leaked key"})
    assert killed.status_code == 200
    assert killed.json() | {"workload": None} == {"workload": None, "revoked_grants": 1, "cancelled_requests": 1}
    assert killed.json()["workload"]["status"] == "suspended"

    # The agent is told why at the check, and can do nothing else.
    answer = agent.post("/api/v1/authorize", {"workflow": workflow.slug, "scope": READ})
    assert answer.status_code == 200 and answer.json()["allow"] is False
    assert "suspended" in answer.json()["reasons"][0]
    assert agent.get("/api/v1/grants/").status_code == 403


def test_a_person_asks_for_themselves_and_is_refused_acting_for_someone_else(api_as, requester, owner, workflow):
    PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=READ, access_level="read"))
    client = api_as(requester)
    ask = {
        "workflow": workflow.slug,
        "entitlement": READ,
        "task_ref": "T",
        "justification": "j",
        "duration_seconds": 60,
    }
    refused = client.post("/api/v1/access-requests/", {**ask, "on_behalf_of": owner.username})
    assert refused.status_code == 400 and "on_behalf_of" in refused.json()["fields"]
    mine = client.post("/api/v1/access-requests/", ask)
    assert mine.status_code == 201 and mine.json()["requested_by"] == requester.username
    assert mine.json()["grant"]["token"] is None  # people have no grant tokens


def test_a_denied_request_is_a_201_with_the_reasons(api_as, agent, workflow, requester):
    PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=READ, max_lifetime_seconds=600))
    answer = api_as(agent).post(
        "/api/v1/access-requests/",
        {
            "workflow": workflow.slug,
            "entitlement": READ,
            "task_ref": "T",
            "justification": "j",
            "duration_seconds": 601,
            "on_behalf_of": requester.username,
        },
    )
    assert answer.status_code == 201
    assert answer.json()["state"] == "denied" and answer.json()["grant"] is None
    assert any("600" in reason or "10 min" in reason for reason in answer.json()["decision"]["reasons"])
