"""The missed-review consequence is part of a workflow's settings in the API, not an admin-only field."""

import pytest

pytestmark = pytest.mark.django_db


def test_an_owner_sets_the_missed_review_consequence_over_the_api(api_as, owner, workflow):
    response = api_as(owner).patch(f"/api/v1/workflows/{workflow.slug}/", {"missed_review_action": "suspend"})

    assert response.status_code == 200 and response.json()["missed_review_action"] == "suspend"
    workflow.refresh_from_db()
    assert workflow.missed_review_action == "suspend"


def test_a_milder_consequence_waits_for_a_second_person(api_as, owner, workflow):
    response = api_as(owner).patch(f"/api/v1/workflows/{workflow.slug}/", {"missed_review_action": "escalate"})

    assert response.status_code == 202
    workflow.refresh_from_db()
    assert workflow.missed_review_action == "revoke"


def test_an_unknown_consequence_is_a_400_naming_the_field(api_as, owner, workflow):
    response = api_as(owner).patch(f"/api/v1/workflows/{workflow.slug}/", {"missed_review_action": "ignore"})

    assert response.status_code == 400 and "missed_review_action" in response.json()["fields"]


def test_others_may_not_change_it(api_as, outsider, workflow):
    response = api_as(outsider).patch(f"/api/v1/workflows/{workflow.slug}/", {"missed_review_action": "escalate"})

    assert response.status_code in (403, 404)
    workflow.refresh_from_db()
    assert workflow.missed_review_action == "revoke"
