"""No input makes a 500: impossible dates, deep JSON, NUL bytes, over-long fields, wrong
JSON shapes. Each is a 400 (413 for an oversized body) in the error shape of its surface:
the API's `{status, code, message, fields}`, SCIM's Error message, the ticket webhooks'
JSON answer. Every row below is a probe that once made a 500 or could.
"""

import json

import pytest

from approvals.tickets.http import sign
from tests import factories
from tests.chat.conftest import interact
from tests.peers.harness import WEBHOOK_SECRET
from tests.queues.helpers import connect, post_webhook
from tests.scim.conftest import ENTRA_USER, PATCH_OP, assert_scim_error, provisioned

pytestmark = pytest.mark.django_db

SHAPE = {"status", "code", "message", "fields"}
SCOPE = "github:repo:read"


def deep(levels):
    return "[" * levels + "]" * levels


def assert_api_error(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == SHAPE and body["status"] == status, body
    return body


@pytest.fixture
def read_policy(workflow):
    entitlement = factories.EntitlementFactory(scope=SCOPE, access_level="read")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


def evidence_item(**fields):
    return {"kind": "tool_call", "outcome": "success", "summary": "ran a tool", **fields}


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-02-30T12:00:00Z",  # no such day
        "2026-13-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",  # past the end of time once in UTC
        "0001-01-01T00:00:00+14:00",  # before the start of time once in UTC
        "2026-01-01T25:61:00Z",
        "2026-01-01T12:00:00+99:00",
        12345,
        ["2026-01-01T00:00:00Z"],
        "2026-01-01T12:00:00\x00Z",
    ],
)
def test_an_impossible_occurred_at_on_evidence_is_a_400(api_as, agent, occurred_at):
    body = assert_api_error(
        api_as(agent).post(
            "/api/v1/evidence/",
            {"workflow": agent.workflow.slug, "events": [evidence_item(occurred_at=occurred_at)]},
            format="json",
        )
    )
    assert body["code"] == "invalid"


@pytest.mark.parametrize(
    "starts_at",
    ["9999-12-31T23:59:59Z", "9999-12-31T00:00:00+00:00", "0001-01-01T00:00:00Z", "2026-02-30T00:00:00Z"],
)
def test_an_impossible_starts_at_on_an_access_request_is_a_400(api_as, requester, workflow, read_policy, starts_at):
    response = api_as(requester).post(
        "/api/v1/access-requests/",
        {"workflow": workflow.slug, "entitlement": SCOPE, "duration_seconds": 600, "starts_at": starts_at},
        format="json",
    )
    assert assert_api_error(response)["fields"].get("starts_at"), response.json()


@pytest.mark.parametrize(
    "path",
    ["/api/v1/evidence/", "/api/v1/authorize", "/api/v1/access-requests/", "/api/v1/tasks/complete"],
)
def test_json_5000_levels_deep_is_a_400_anywhere_in_the_api(api_as, agent, path):
    response = api_as(agent).post(path, data=deep(5000), content_type="application/json")
    assert assert_api_error(response)["code"] == "too_deep"


def test_json_nested_inside_a_string_is_not_depth(api_as, agent, read_policy):
    # Brackets inside a string value are text, not nesting.
    response = api_as(agent).post(
        "/api/v1/authorize",
        {"workflow": agent.workflow.slug, "scope": SCOPE, "task_ref": deep(150)},
        format="json",
    )
    assert response.status_code == 400 and "task_ref" in response.json()["fields"]


def test_a_body_over_the_limit_is_a_413_before_it_is_read(api_as, agent, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    response = api_as(agent).post(
        "/api/v1/evidence/",
        {"workflow": agent.workflow.slug, "events": [evidence_item(summary="x" * 2000)]},
        format="json",
    )
    assert assert_api_error(response, 413)["code"] == "too_large"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/authorize", {"workflow": "a\x00b", "scope": SCOPE}),
        ("/api/v1/authorize", {"workflow": "w", "scope": "s" * 100_000}),
        ("/api/v1/access-requests/", {"workflow": "w", "entitlement": SCOPE, "duration_seconds": 10**30}),
        ("/api/v1/access-requests/", {"workflow": "w\x00", "entitlement": SCOPE, "duration_seconds": 60}),
        ("/api/v1/tasks/complete", {"workflow": "w", "task_ref": "t" * 10_000}),
        ("/api/v1/tasks/complete", {"workflow": ["w"], "task_ref": {"a": 1}}),
        ("/api/v1/evidence/", {"workflow": "w", "events": "not a list"}),
        ("/api/v1/evidence/", {"workflow": "w", "events": [evidence_item(summary="a\x00b")]}),
        ("/api/v1/evidence/", {"workflow": "w", "events": [evidence_item(task_ref="t" * 5000)]}),
        ("/api/v1/evidence/", [1, 2, 3]),
        ("/api/v1/evidence/", "just a string"),
    ],
)
def test_nul_bytes_over_long_fields_and_wrong_shapes_are_400s_in_the_api(api_as, agent, path, body):
    body = json.loads(json.dumps(body).replace('"w"', json.dumps(agent.workflow.slug)))
    assert_api_error(api_as(agent).post(path, body, format="json"))


def test_a_body_that_is_not_json_at_all_is_a_400(api_as, agent):
    response = api_as(agent).post("/api/v1/authorize", data=b"\xff\xfe{", content_type="application/json")
    assert_api_error(response)


# --- SCIM ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"userName": "nul\x00byte@example.test"},
        {"displayName": "Dana\x00Diaz"},
        {"externalId": "x" * 10_000},
        {"userName": "u" * 10_000 + "@example.test"},
        {"displayName": "d" * 10_000},
        {"name": {"givenName": "g" * 10_000, "familyName": "Diaz"}},
        {"emails": [{"primary": True, "value": "e" * 300 + "@example.test"}]},
    ],
)
def test_scim_nul_bytes_and_over_long_fields_are_400s(scim, change):
    assert_scim_error(scim.post("Users", {**ENTRA_USER, **change}), 400)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "displayName", "value": "a\x00b"},
        {"op": "replace", "path": "displayName", "value": "d" * 10_000},
        {"op": "replace", "value": {"userName": "u" * 10_000}},
        {"op": "replace", "value": "not an object"},
        {"op": "replace", "value": [1, 2]},
        {"op": "add", "path": "emails", "value": "not a list"},
        {"op": "replace", "path": "name.givenName", "value": {"nested": True}},
        {"op": "replace", "path": "active", "value": {"value": True}},
        {"op": "replace", "path": 5, "value": "x"},
        {"op": 5, "path": "displayName", "value": "x"},
        {"op": "frobnicate", "path": "displayName", "value": "x"},
        {"path": "displayName", "value": "x"},
        {"op": "remove", "path": "emails[value eq"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": ["a", "b"]},
        "not an operation",
        ["op", "replace"],
        None,
    ],
)
def test_malformed_scim_patch_operations_are_400s(scim, operation):
    user = provisioned(scim)
    response = scim.patch(f"Users/{user['id']}", operation)
    assert_scim_error(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [PATCH_OP], "Operations": "replace everything"},
        {"schemas": [PATCH_OP], "Operations": [None]},
        {"schemas": [PATCH_OP]},
        [1, 2],
        "a string",
    ],
)
def test_scim_patch_bodies_of_the_wrong_shape_are_400s(scim, body):
    user = provisioned(scim)
    assert_scim_error(scim.call("patch", f"Users/{user['id']}", body), 400)


def test_deep_json_on_scim_is_a_400_in_scims_shape(scim):
    response = scim.client.post("/scim/v2/Users", data=deep(5000), content_type="application/scim+json", **scim.headers)
    assert_scim_error(response, 400)


# --- Ticket webhooks -----------------------------------------------------------------


@pytest.mark.parametrize("ticket_system", ["rt", "jira", "github", "servicenow"], indirect=True)
@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'"text"', b"42", b"null", b"true", b'{"issue": 5, "ticket": [1]}', b'{"issue": {"number": {}}}'],
)
def test_signed_webhooks_whose_json_is_not_an_object_are_400s(ticket_system, workflow, client, body):
    queue = connect(workflow, ticket_system)
    headers = {
        "X-Mandate-Signature": sign(WEBHOOK_SECRET, body),
        "X-Hub-Signature": sign(WEBHOOK_SECRET, body),
        "X-Hub-Signature-256": sign(WEBHOOK_SECRET, body),
        "X-GitHub-Event": "issues",
    }
    response = post_webhook(client, queue, headers, body)
    assert response.status_code in (400, 202), response.content
    if response.status_code == 400:
        assert set(response.json()) == SHAPE


# --- Slack interactivity (signed) -------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        "text",
        42,
        None,
        {"team": "T1"},
        "DEEP",
        "TEAM:block_actions:actions=7",
        'TEAM:block_actions:actions=[{"value": 5}]',
        "TEAM:view_submission:view=[]",
        'TEAM:view_submission:view={"callback_id": "mandate_deny_reason", "private_metadata": 5}',
    ],
)
def test_signed_slack_interactions_of_the_wrong_shape_are_400s_or_refusals(client, installation, slack, payload):
    if payload == "DEEP":
        payload = json.loads(deep(900))
    elif isinstance(payload, str) and payload.startswith("TEAM:"):
        _, kind, field = payload.split(":", 2)
        name, _, value = field.partition("=")
        payload = {"type": kind, "team": {"id": slack.team_id}, "user": {"id": "UX"}, name: json.loads(value)}
    response = interact(client, installation, slack.sign(payload))
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert set(response.json()) == SHAPE
