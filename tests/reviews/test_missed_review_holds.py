"""Walk-around 4: what a missed deadline revoked is not handed back by auto-approval while
the review is still open; an owner approves, with the missed review named in the reasons."""

from datetime import timedelta

import pytest
from django.urls import reverse

from approvals.models import AccessRequest
from approvals.services import decide, submit_request
from governance.reviews.services import decide_items, enforce_review_deadlines, open_campaign
from tests import factories
from tests.reviews.helpers import DAY, T0, at, long_policy, person_grant, workload_grant

pytestmark = pytest.mark.django_db
DUE = T0 + 10 * DAY


@pytest.fixture
def missed(workflow, requester):
    workflow.next_review_due = DUE
    workflow.save()
    agent = factories.WorkloadIdentityFactory(workflow=workflow, owner=requester)
    with at(T0):
        policy = long_policy(workflow)  # read in a medium-risk workflow: auto-approved
        grant = workload_grant(policy, agent, requester)
        campaign = open_campaign(workflow)
    with at(DUE + timedelta(minutes=5)):
        enforce_review_deadlines()
    grant.refresh_from_db()
    assert grant.status == "revoked"
    return campaign, policy, agent


def ask(policy, agent, person, when):
    with at(when):
        return submit_request(
            workflow=policy.workflow,
            entitlement=policy.entitlement,
            duration_seconds=600,
            workload=agent,
            on_behalf_of=person,
            task_ref="again",
            justification="asking again",
        )


def test_asking_again_after_the_deadline_revoked_it_needs_an_owner(missed, requester, owner):
    campaign, policy, agent = missed
    again = ask(policy, agent, requester, DUE + timedelta(minutes=10))
    assert again.state == "pending", again.decision_reasons
    reasons = " ".join(again.decision_reasons)
    assert f"#{campaign.pk}" in reasons and "was missed" in reasons
    with at(DUE + timedelta(minutes=11)):
        decided = decide(again, approver=owner, decision="approve")
    assert decided.state == "approved"


def test_the_hold_ends_when_the_review_is_completed(missed, requester, owner, backup_owner):
    campaign, policy, agent = missed
    with at(DUE + DAY):
        pending = campaign.items.filter(outcome="pending")
        decide_items(campaign, pending.values_list("pk", flat=True), by=backup_owner, decision="certify")
    campaign.refresh_from_db()
    assert campaign.status == "completed"
    again = ask(policy, agent, requester, DUE + 2 * DAY)
    assert again.state == "approved"


def test_through_the_api_the_agent_is_told_why(missed, requester, api_as):
    campaign, policy, agent = missed
    with at(DUE + timedelta(minutes=10)):
        answer = api_as(agent).post(
            "/api/v1/access-requests/",
            {
                "workflow": policy.workflow.slug,
                "entitlement": policy.entitlement.scope,
                "duration_seconds": 600,
                "task_ref": "again",
                "justification": "asking again",
                "on_behalf_of": requester.username,
            },
        )
    assert answer.status_code == 201 and answer.json()["state"] == "pending"
    assert any("was missed" in r for r in answer.json()["decision"]["reasons"])


def test_in_the_portal_asking_again_waits_for_an_owner_and_says_why(workflow, requester, client):
    """The same hold for a person asking in the browser for what the deadline took away."""
    workflow.next_review_due = DUE
    workflow.save()
    with at(T0):
        policy = long_policy(workflow)
        grant = person_grant(policy, requester)
        open_campaign(workflow)
    with at(DUE + timedelta(minutes=5)):
        enforce_review_deadlines()
    grant.refresh_from_db()
    assert grant.status == "revoked"
    with at(DUE + timedelta(minutes=10)):
        client.force_login(requester)  # a session of that day
        form = {
            "policy": policy.pk,
            "duration_seconds": 900,
            "task_ref": "again",
            "justification": "asking again",
            "idempotency_key": "portal-again",
        }
        response = client.post(reverse("approvals:request_create"), form, follow=True)
    again = AccessRequest.objects.exclude(pk=grant.request_id).get()
    assert again.state == "pending" and again.requested_by == requester
    assert "was missed" in response.content.decode()
