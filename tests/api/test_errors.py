"""Every error answer has one JSON shape; rate limits apply per key."""

import pytest

from tests.factories import EntitlementFactory, PolicyFactory

pytestmark = pytest.mark.django_db

SHAPE = {"status", "code", "message", "fields"}


def test_bad_input_is_a_400_naming_each_wrong_field(api_as, owner, identity_source):
    response = api_as(owner).post(
        "/api/v1/workflows/",
        {"name": "", "slug": "not a slug", "identity_source": identity_source.slug, "review_cycle_days": 0},
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == SHAPE and body["code"] == "invalid"
    assert {"name", "slug", "business_process", "review_cycle_days"} <= set(body["fields"])
    assert body["message"].startswith(next(iter(body["fields"])))


def test_a_rule_broken_in_the_service_is_a_400_with_the_models_message(api_as, owner, backup_owner, workflow):
    response = api_as(owner).patch(f"/api/v1/workflows/{workflow.slug}/", {"backup_owner": owner.username})
    assert response.status_code == 400
    assert response.json()["fields"]["backup_owner"] == [
        "The backup owner must be someone other than the control owner."
    ]


def test_what_the_caller_may_not_see_is_a_404(api_as, outsider, workflow):
    workflow.status = "draft"
    workflow.save()
    response = api_as(outsider).get(f"/api/v1/workflows/{workflow.slug}/")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "code": "not_found", "message": "Not found.", "fields": {}}


def test_what_the_caller_may_see_but_not_do_is_a_403_saying_why(api_as, outsider, workflow):
    response = api_as(outsider).patch(f"/api/v1/workflows/{workflow.slug}/", {"description": "mine now"})
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_allowed" and "control owner" in body["message"]


def test_an_illegal_state_change_is_a_409(api_as, owner, agent):
    from identities.services import issue_api_key, revoke_api_key

    key, _ = issue_api_key(workload=agent)
    revoke_api_key(key)
    response = api_as(owner).post(f"/api/v1/api-keys/{key.pk}/rotate/", {})
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


def test_a_policy_longer_than_its_entitlement_allows_is_refused_with_the_maximum(api_as, owner, workflow):
    entitlement = EntitlementFactory(max_lifetime_seconds=600)
    response = api_as(owner).post(
        "/api/v1/policies/",
        {"workflow": workflow.slug, "entitlement": entitlement.scope, "max_ttl_seconds": 601},
    )
    assert response.status_code == 400
    assert "600 s" in response.json()["fields"]["max_ttl_seconds"][0]


def test_a_second_policy_for_the_same_entitlement_is_refused(api_as, owner, workflow):
    policy = PolicyFactory(workflow=workflow)
    response = api_as(owner).post(
        "/api/v1/policies/", {"workflow": workflow.slug, "entitlement": policy.entitlement.scope}
    )
    assert response.status_code == 400
    assert "already has a policy" in response.json()["fields"]["entitlement"][0]


def test_malformed_json_is_a_400_in_the_same_shape(api_as, owner):
    response = api_as(owner).generic("POST", "/api/v1/workflows/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == SHAPE and response.json()["code"] == "parse_error"


def test_too_many_requests_from_one_key_are_a_429_with_retry_after(api_as, agent, owner, settings):
    settings.API_THROTTLE_RATE = "3/min"
    agent_client, owner_client = api_as(agent), api_as(owner)
    assert [agent_client.get("/api/v1/workflows/").status_code for _ in range(3)] == [200, 200, 200]
    limited = agent_client.get("/api/v1/workflows/")
    assert limited.status_code == 429
    assert limited.json()["code"] == "throttled" and int(limited["Retry-After"]) > 0
    # The budget is the key's own: another caller is not affected.
    assert owner_client.get("/api/v1/workflows/").status_code == 200


def test_a_time_filter_with_an_offset_the_database_cannot_hold_still_works(api_as, auditor):
    # Python parses "-23:12"; PostgreSQL would refuse it. The filter converts to UTC first.
    response = api_as(auditor).get("/api/v1/grants/", {"expiring_before": "4376-02-26T05:53:43-23:12"})
    assert response.status_code == 200
    out_of_range = api_as(auditor).get("/api/v1/grants/", {"expiring_before": "0001-01-01T00:00:00+05:00"})
    assert out_of_range.status_code == 400 and "expiring_before" in out_of_range.json()["fields"]


def test_text_the_database_cannot_store_is_a_400(api_as, owner, workflow):
    response = api_as(owner).post(
        "/api/v1/access-requests/",
        {"workflow": "bad\x00slug", "entitlement": "x", "duration_seconds": 60},
    )
    assert response.status_code == 400 and "workflow" in response.json()["fields"]
