"""A missed review deadline has the workflow's configured, visible consequence."""

from datetime import timedelta

import pytest

from approvals.services import submit_request
from governance.models import ReviewCampaign, Workflow
from governance.reviews.services import (
    apply_missed_deadline,
    decide_item,
    decide_items,
    enforce_review_deadlines,
    open_campaign,
)
from tests import factories
from tests.reviews.helpers import DAY, T0, at, long_policy, workload_grant

pytestmark = pytest.mark.django_db

DUE = T0 + 10 * DAY


@pytest.fixture(autouse=True)
def _review_due_on_the_test_clock(workflow):
    workflow.next_review_due = DUE
    workflow.save()


@pytest.fixture
def read_policy(workflow):
    with at(T0):
        return long_policy(workflow)


@pytest.fixture
def second_agent(workflow, owner):
    return factories.WorkloadIdentityFactory(workflow=workflow, owner=owner)


@pytest.fixture
def setup(workflow, read_policy, agent, second_agent, requester, owner):
    """Two grants and two workloads under review; the owner certified one of each."""
    with at(T0):
        kept = workload_grant(read_policy, agent, requester, task="kept")
        forgotten = workload_grant(read_policy, second_agent, requester, task="forgotten")
        campaign = open_campaign(workflow)
    with at(T0 + DAY):
        decide_items(
            campaign,
            campaign.items.filter(grant=kept).values_list("pk", flat=True)
            | campaign.items.filter(workload=agent).values_list("pk", flat=True),
            by=owner,
            decision="certify",
            comment="Keep the main agent.",
        )
    return campaign, kept, forgotten


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


def ask_for_access(workflow, policy, workload, person):
    return submit_request(
        workflow=Workflow.objects.get(pk=workflow.pk),  # as a fresh API call would load it
        entitlement=policy.entitlement,
        duration_seconds=600,
        workload=workload,
        on_behalf_of=person,
        task_ref="after-deadline",
        justification="new work",
    )


def test_nothing_happens_before_the_deadline(setup, workflow):
    campaign, kept, forgotten = setup
    with at(DUE - timedelta(minutes=1)):
        assert enforce_review_deadlines()["deadline_missed"] == 0
    campaign, forgotten = refreshed(campaign, forgotten)
    assert campaign.deadline_missed_at is None and forgotten.status == "active"


def test_revoke_ends_every_grant_nobody_certified(setup, workflow, agent, second_agent):
    assert workflow.missed_review_action == "revoke"  # the default
    campaign, kept, forgotten = setup
    with at(DUE + timedelta(minutes=5)):
        assert enforce_review_deadlines()["deadline_missed"] == 1
    campaign, kept, forgotten, agent, second_agent, workflow = refreshed(
        campaign, kept, forgotten, agent, second_agent, workflow
    )
    assert (campaign.deadline_missed_at, campaign.deadline_action) == (DUE + timedelta(minutes=5), "revoke")
    assert forgotten.status == "revoked" and forgotten.revoked_by is None
    assert "was not finished by" in forgotten.end_reason
    assert kept.status == "active"
    assert agent.status == second_agent.status == "active"
    assert workflow.status == "active"
    auto = campaign.items.get(grant=forgotten)
    assert auto.outcome == "revoked" and auto.decided_by is None and auto.comment.startswith("Revoked automatically")
    assert campaign.status == "open"  # the owner still has to finish it


def test_escalate_only_records_the_miss(setup, workflow, second_agent):
    workflow.missed_review_action = "escalate"
    workflow.save()
    campaign, kept, forgotten = setup
    with at(DUE + DAY):
        enforce_review_deadlines()
    campaign, forgotten, second_agent = refreshed(campaign, forgotten, second_agent)
    assert campaign.deadline_action == "escalate" and campaign.deadline_missed_at == DUE + DAY
    assert forgotten.status == "active" and second_agent.status == "active"
    assert campaign.items.filter(outcome="pending").count() == 4


def test_suspend_also_suspends_the_workloads_and_refuses_new_requests_until_done(
    setup, workflow, agent, second_agent, read_policy, requester, owner
):
    workflow.missed_review_action = "suspend"
    workflow.save()
    campaign, kept, forgotten = setup
    with at(DUE + timedelta(hours=1)):
        enforce_review_deadlines()
        refused = ask_for_access(workflow, read_policy, agent, requester)
    campaign, kept, forgotten, agent, second_agent, workflow = refreshed(
        campaign, kept, forgotten, agent, second_agent, workflow
    )
    assert forgotten.status == "revoked" and kept.status == "active"
    assert second_agent.status == "suspended" and agent.status == "active"  # the certified one stays
    assert campaign.items.get(workload=second_agent).outcome == "suspended"
    assert workflow.status == "suspended" and campaign.suspended_workflow
    assert refused.state == "denied" and "not active" in " ".join(refused.decision_reasons)

    # Finishing the review lifts the refusal; the next cycle counts from the close date.
    with at(DUE + 2 * DAY):
        pending = campaign.items.filter(outcome="pending").values_list("pk", flat=True)
        decide_items(campaign, pending, by=owner, decision="certify", comment="Done, late.")
        allowed = ask_for_access(workflow, read_policy, agent, requester)
    campaign, workflow = refreshed(campaign, workflow)
    assert campaign.status == "completed" and workflow.status == "active"
    assert "Finished late" in campaign.close_note
    assert workflow.next_review_due == DUE + 2 * DAY + timedelta(days=workflow.review_cycle_days)
    assert allowed.state == "approved"


def test_a_workflow_suspended_for_another_reason_stays_suspended(setup, workflow, owner):
    campaign, _kept, _forgotten = setup
    workflow.status = "suspended"  # an administrator suspended it before the deadline
    workflow.missed_review_action = "suspend"
    workflow.save()
    with at(DUE + DAY):
        enforce_review_deadlines()
        decide_items(
            campaign,
            campaign.items.filter(outcome="pending").values_list("pk", flat=True),
            by=owner,
            decision="certify",
        )
    (workflow,) = refreshed(workflow)
    assert workflow.status == "suspended"


def test_the_consequence_is_applied_once(setup, workflow):
    campaign, _kept, _forgotten = setup
    with at(DUE + DAY):
        assert apply_missed_deadline(campaign) is True
    with at(DUE + 2 * DAY):
        assert apply_missed_deadline(campaign) is False
        assert enforce_review_deadlines()["deadline_missed"] == 0
    (campaign,) = refreshed(campaign)
    assert campaign.deadline_missed_at == DUE + DAY


def test_a_grant_that_already_ended_lapses_instead_of_being_revoked(workflow, read_policy, agent, requester):
    with at(T0):
        short = workload_grant(read_policy, agent, requester, seconds=3600)
        campaign = open_campaign(workflow)
    with at(DUE + DAY):
        apply_missed_deadline(campaign)
    assert campaign.items.get(grant=short).outcome == "lapsed"


def test_a_completed_campaign_has_no_consequence(setup, owner):
    campaign, _kept, _forgotten = setup
    with at(T0 + 2 * DAY):
        for item in campaign.items.filter(outcome="pending"):
            decide_item(item, by=owner, decision="certify")
    with at(DUE + DAY):
        assert enforce_review_deadlines()["deadline_missed"] == 0
    assert ReviewCampaign.objects.get(pk=campaign.pk).deadline_missed_at is None
