"""Access reviews through the API: owners decide their workflows' reviews, auditors read,
everyone else (workloads included) sees none; the service's refusals keep their status."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import ReviewCampaign
from governance.reviews.services import open_campaign
from tests import factories
from tests.reviews.helpers import at, long_policy, person_grant, workload_grant

pytestmark = pytest.mark.django_db

REVIEWS, ITEMS = "/api/v1/reviews/", "/api/v1/review-items/"


@pytest.fixture
def read_policy(workflow):
    return long_policy(workflow, access_level="read")


@pytest.fixture
def agent_grant(read_policy, agent, requester):
    return workload_grant(read_policy, agent, requester)


@pytest.fixture
def owners_grant(read_policy, owner):
    """The control owner's own access: someone else must certify it."""
    return person_grant(read_policy, owner, task="own")


@pytest.fixture
def campaign(workflow, agent_grant, owners_grant):
    return open_campaign(workflow)


def item_id(campaign, **subject):
    return campaign.items.get(**subject).pk


def test_an_owner_lists_their_reviews_with_progress(api_as, owner, campaign):
    response = api_as(owner).get(REVIEWS)
    assert response.status_code == 200
    [review] = response.json()["results"]
    assert review["id"] == campaign.pk and review["workflow"] == campaign.workflow.slug
    assert review["state"] == "open" and review["overdue"] is False
    # Two grants, the agent, the auto-approving read policy, the owner assignment.
    assert review["progress"] == {"decided": 0, "pending": 5, "total": 5}
    assert review["missed_review_action"] == "revoke"


def test_a_review_shows_every_item_and_what_each_still_accepts(api_as, backup_owner, campaign, agent, agent_grant):
    review = api_as(backup_owner).get(f"{REVIEWS}{campaign.pk}/").json()
    by_kind = {}
    for item in review["items"]:
        by_kind.setdefault(item["kind"], []).append(item)
    assert sorted(by_kind) == ["grant", "ownership", "policy", "workload"]
    assert {i["grant"] for i in by_kind["grant"]} >= {agent_grant.pk}
    assert by_kind["workload"][0]["workload"] == agent.slug
    assert by_kind["grant"][0]["decisions"] == ["certify", "revoke"]
    assert by_kind["workload"][0]["decisions"] == ["certify", "suspend"]
    assert by_kind["ownership"][0]["decisions"] == ["certify"]
    assert all(i["outcome"] == "pending" and i["decided_by"] is None for i in review["items"])


def test_certifying_an_item_records_who_and_why(api_as, owner, campaign, agent_grant):
    pk = item_id(campaign, grant=agent_grant)
    response = api_as(owner).post(f"{ITEMS}{pk}/decide/", {"decision": "certify", "comment": "Still needed."})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["outcome"], body["decided_by"], body["comment"]) == ("certified", "owner", "Still needed.")
    assert body["decided_at"] and body["decisions"] == []
    assert api_as(owner).get(f"{REVIEWS}{campaign.pk}/").json()["progress"]["decided"] == 1


def test_a_revoke_through_the_api_ends_the_agents_access_at_once(
    api_as, owner, agent, campaign, agent_grant, workflow, read_policy
):
    check = {"workflow": workflow.slug, "scope": read_policy.entitlement.scope}
    agent_client = api_as(agent)
    assert agent_client.post("/api/v1/authorize", check).json()["allow"] is True
    pk = item_id(campaign, grant=agent_grant)
    response = api_as(owner).post(f"{ITEMS}{pk}/decide/", {"decision": "revoke", "comment": "Not used."})
    assert response.status_code == 200 and response.json()["outcome"] == "revoked"
    denied = agent_client.post("/api/v1/authorize", check).json()
    assert denied["allow"] is False and "revoked" in denied["reasons"][0]


def test_nobody_certifies_their_own_access_403_and_the_item_waits(api_as, owner, backup_owner, campaign, owners_grant):
    pk = item_id(campaign, grant=owners_grant)
    refused = api_as(owner).post(f"{ITEMS}{pk}/decide/", {"decision": "certify"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_allowed" and "Nobody certifies their own access" in refused.json()["message"]
    assert campaign.items.get(pk=pk).is_pending
    # The other owner may.
    assert api_as(backup_owner).post(f"{ITEMS}{pk}/decide/", {"decision": "certify"}).status_code == 200


def test_deciding_a_decided_item_is_a_409(api_as, owner, backup_owner, campaign, agent):
    pk = item_id(campaign, workload=agent)
    assert api_as(owner).post(f"{ITEMS}{pk}/decide/", {"decision": "certify"}).status_code == 200
    again = api_as(backup_owner).post(f"{ITEMS}{pk}/decide/", {"decision": "suspend", "comment": "Late."})
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    agent.refresh_from_db()
    assert agent.status == "active"


def test_bad_decisions_are_400_with_the_field_named(api_as, owner, campaign, agent_grant):
    client = api_as(owner)
    grant_item = item_id(campaign, grant=agent_grant)
    ownership_item = item_id(campaign, kind="ownership")
    no_comment = client.post(f"{ITEMS}{grant_item}/decide/", {"decision": "revoke"})
    assert no_comment.status_code == 400 and "comment" in no_comment.json()["fields"]
    unknown = client.post(f"{ITEMS}{grant_item}/decide/", {"decision": "delete"})
    assert unknown.status_code == 400 and "decision" in unknown.json()["fields"]
    ownership = client.post(f"{ITEMS}{ownership_item}/decide/", {"decision": "revoke", "comment": "x"})
    assert ownership.status_code == 400 and "decision" in ownership.json()["fields"]
    assert not campaign.items.exclude(outcome="pending").exists()


def test_a_bulk_decision_completes_the_review(api_as, owner, backup_owner, campaign, owners_grant):
    # The backup owner may certify everything, the control owner's own grant included.
    ids = list(campaign.items.values_list("pk", flat=True))
    response = api_as(backup_owner).post(
        f"{REVIEWS}{campaign.pk}/decide/", {"items": ids, "decision": "certify", "comment": "Quarterly check."}
    )
    assert response.status_code == 200, response.json()
    review = response.json()
    assert review["state"] == "completed" and review["closed_by"] == "backup"
    assert review["progress"] == {"decided": 5, "pending": 0, "total": 5}
    assert {i["outcome"] for i in review["items"]} == {"certified"}
    assert "5 certified" in review["close_note"]


def test_a_bulk_decision_is_all_or_nothing(api_as, owner, campaign, owners_grant, agent):
    # The owner's own grant cannot be certified by the owner: nothing is decided.
    ids = [item_id(campaign, workload=agent), item_id(campaign, grant=owners_grant)]
    refused = api_as(owner).post(f"{REVIEWS}{campaign.pk}/decide/", {"items": ids, "decision": "certify"})
    assert refused.status_code == 403
    assert not campaign.items.exclude(outcome="pending").exists()


def test_a_bulk_decision_naming_another_reviews_item_is_a_400(api_as, owner, campaign, identity_source):
    other_workflow = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    factories.WorkloadIdentityFactory(workflow=other_workflow, owner=owner)
    other = open_campaign(other_workflow)
    stranger = other.items.first().pk
    ids = [stranger, item_id(campaign, kind="ownership")]
    response = api_as(owner).post(f"{REVIEWS}{campaign.pk}/decide/", {"items": ids, "decision": "certify"})
    assert response.status_code == 400
    assert response.json()["fields"]["items"] == [f"Not items of this review: {stranger}."]
    assert not campaign.items.exclude(outcome="pending").exists()
    nothing = api_as(owner).post(f"{REVIEWS}{campaign.pk}/decide/", {"items": [], "decision": "certify"})
    assert nothing.status_code == 400 and "items" in nothing.json()["fields"]


def test_a_closed_review_takes_no_more_decisions(api_as, backup_owner, campaign):
    ids = list(campaign.items.values_list("pk", flat=True))
    client = api_as(backup_owner)
    assert client.post(f"{REVIEWS}{campaign.pk}/decide/", {"items": ids, "decision": "certify"}).status_code == 200
    again = client.post(f"{REVIEWS}{campaign.pk}/decide/", {"items": ids[:1], "decision": "certify"})
    assert again.status_code == 409
    item = client.get(f"{ITEMS}{ids[0]}/").json()
    assert item["decisions"] == []


def test_auditors_read_every_review_and_decide_none(api_as, auditor, campaign, agent):
    client = api_as(auditor)
    assert [r["id"] for r in client.get(REVIEWS).json()["results"]] == [campaign.pk]
    assert client.get(f"{REVIEWS}{campaign.pk}/").status_code == 200
    pk = item_id(campaign, workload=agent)
    refused = client.post(f"{ITEMS}{pk}/decide/", {"decision": "certify"})
    assert refused.status_code == 403 and "owner" in refused.json()["message"]
    assert client.post(f"{REVIEWS}{campaign.pk}/decide/", {"items": [pk], "decision": "certify"}).status_code == 403


@pytest.mark.parametrize("persona", ["agent", "requester", "outsider"])
def test_workloads_and_other_people_see_no_review_at_all(api_as, persona, request, campaign):
    client = api_as(request.getfixturevalue(persona))
    pk = campaign.items.first().pk
    assert client.get(REVIEWS).json()["count"] == 0
    assert client.get(ITEMS).json()["count"] == 0
    assert client.get(f"{REVIEWS}{campaign.pk}/").status_code == 404
    assert client.get(f"{ITEMS}{pk}/").status_code == 404
    assert client.post(f"{ITEMS}{pk}/decide/", {"decision": "certify"}).status_code == 404
    assert client.post(f"{REVIEWS}{campaign.pk}/decide/", {"items": [pk], "decision": "certify"}).status_code == 404


def test_reviews_filter_by_workflow_state_and_overdue(api_as, owner, workflow, agent, identity_source):
    now = timezone.now()
    workflow.next_review_due = now - timedelta(days=2)
    workflow.save()
    with at(now - timedelta(days=10)):
        overdue = open_campaign(workflow)  # due a day after it opened: long past
    calm = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source, slug="calm")
    factories.WorkloadIdentityFactory(workflow=calm, owner=owner)
    current = open_campaign(calm)
    empty = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source, slug="empty")
    done = open_campaign(empty)  # nothing to review: completed at once
    client = api_as(owner)

    def ids(query):
        response = client.get(f"{REVIEWS}?{query}")
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids("") == {overdue.pk, current.pk, done.pk}
    assert ids("overdue=true") == {overdue.pk}
    assert ids("overdue=false") == {current.pk, done.pk}
    assert ids("state=open") == {overdue.pk, current.pk}
    assert ids("state=completed") == {done.pk}
    assert ids("workflow=calm") == {current.pk}
    assert client.get(f"{REVIEWS}{overdue.pk}/").json()["overdue"] is True
    assert client.get(f"{REVIEWS}?state=paused").status_code == 400


def test_review_items_filter_by_review_kind_and_outcome(api_as, owner, campaign, agent):
    client = api_as(owner)
    client.post(f"{ITEMS}{item_id(campaign, workload=agent)}/decide/", {"decision": "certify"})

    def kinds(query):
        return sorted(i["kind"] for i in client.get(f"{ITEMS}?campaign={campaign.pk}&{query}").json()["results"])

    assert kinds("kind=grant") == ["grant", "grant"]
    assert kinds("outcome=certified") == ["workload"]
    assert kinds("pending=false") == ["workload"]
    assert len(kinds("pending=true")) == 4


def test_listing_reviews_takes_the_same_queries_for_one_or_many(
    api_as, owner, campaign, identity_source, django_assert_max_num_queries
):
    for n in range(4):
        other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source, slug=f"more-{n}")
        factories.WorkloadIdentityFactory(workflow=other, owner=owner)
        open_campaign(other)
    client = api_as(owner)
    assert ReviewCampaign.objects.count() == 5
    with django_assert_max_num_queries(8):
        assert client.get(REVIEWS).json()["count"] == 5
    with django_assert_max_num_queries(10):
        assert client.get(f"{REVIEWS}{campaign.pk}/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(ITEMS).json()["count"] > 5
