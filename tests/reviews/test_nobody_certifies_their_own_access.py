"""Walk-around 2: owners certified their own assignment, their own agent and a grant held by
their own agent. Such items go to the other owner or the security team, and the review
cannot complete while one waits."""

import pytest

from governance.exceptions import NotAllowed
from governance.reviews.services import close_campaign, decide_item, open_campaign
from tests import factories
from tests.reviews.helpers import DAY, T0, at, long_policy, workload_grant

pytestmark = pytest.mark.django_db
ITEMS = "/api/v1/review-items/"


@pytest.fixture
def review(workflow, owner, requester):
    """fiona's (the owner's) agent holds a grant; the review covers it, the agent and her assignment."""
    workflow.next_review_due = T0 + 10 * DAY
    workflow.save()
    with at(T0):
        policy = long_policy(workflow)
        fionas_agent = factories.WorkloadIdentityFactory(workflow=workflow, owner=owner)
        grant = workload_grant(policy, fionas_agent, requester)
        campaign = open_campaign(workflow)
    return campaign, fionas_agent, grant


@pytest.mark.parametrize("subject", ["ownership", "workload", "grant"])
def test_an_owner_cannot_certify_her_assignment_her_agent_or_its_grant_through_the_api(
    api_as, owner, backup_owner, review, subject
):
    campaign, agent, grant = review
    item = {
        "ownership": campaign.items.get(kind="ownership"),
        "workload": campaign.items.get(workload=agent),
        "grant": campaign.items.get(grant=grant),
    }[subject]
    refused = api_as(owner).post(f"{ITEMS}{item.pk}/decide/", {"decision": "certify"})
    assert refused.status_code == 403, refused.json()
    assert "Nobody certifies their own access" in refused.json()["message"]
    assert str(backup_owner) in refused.json()["message"]  # who decides it instead
    decided = api_as(backup_owner).post(f"{ITEMS}{item.pk}/decide/", {"decision": "certify"})
    assert decided.status_code == 200 and decided.json()["outcome"] == "certified"


def test_with_no_other_owner_the_security_team_decides_and_the_review_waits_for_it(
    workflow, owner, review, identity_source
):
    campaign, agent, grant = review
    workflow.backup_owner = None
    workflow.save()
    security = factories.UserFactory(username="sec", identity_source=identity_source, is_superuser=True)
    others = [i for i in campaign.items.all() if i.kind == "policy"]
    for item in others:
        decide_item(item, by=owner, decision="certify")
    mine = list(campaign.items.exclude(kind="policy"))
    for item in mine:
        with pytest.raises(NotAllowed, match="the security team decides it"):
            decide_item(item, by=owner, decision="certify")
    campaign.refresh_from_db()
    assert campaign.status == "open"
    with pytest.raises(Exception, match="still wait"):
        close_campaign(campaign, by=owner)
    for item in mine:
        decide_item(item, by=security, decision="certify")
    campaign.refresh_from_db()
    assert campaign.status == "completed"


def test_a_registry_admin_who_is_not_an_owner_decides_only_what_no_owner_may(
    workflow, owner, backup_owner, review, identity_source
):
    from django.contrib.auth.models import Permission

    campaign, agent, grant = review
    sec = factories.UserFactory(username="sec2", identity_source=identity_source)
    sec.user_permissions.add(Permission.objects.get(codename="decide_registry_changes"))
    with pytest.raises(NotAllowed, match="for the workflow's owners"):
        decide_item(campaign.items.get(kind="ownership"), by=sec, decision="certify")


def test_the_portal_marks_own_items_and_refuses_to_certify_them(client, owner, review):
    campaign, agent, grant = review
    client.force_login(owner)
    item = campaign.items.get(kind="ownership")
    shown = client.get(campaign.get_absolute_url())
    assert item.pk in shown.context["own_item_ids"]
    page = client.post(campaign.get_absolute_url(), {"items": [item.pk], "decision": "certify", "comment": ""})
    item.refresh_from_db()
    assert item.outcome == "pending"
    assert page.status_code == 403 and "Nobody certifies their own access" in page.content.decode()
