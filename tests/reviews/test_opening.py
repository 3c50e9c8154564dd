"""Access reviews open by themselves when a workflow's review cycle comes due."""

from datetime import timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from approvals.services import revoke_grant
from governance.exceptions import IllegalTransition
from governance.models import ReviewCampaign
from governance.reviews.services import open_campaign, open_due_campaigns
from tests import factories
from tests.reviews.helpers import DAY, T0, at, long_policy, person_grant, workload_grant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _review_due_on_the_test_clock(workflow):
    workflow.next_review_due = T0 + 90 * DAY
    workflow.save()


@pytest.fixture
def due_in_20_days(workflow, settings):
    settings.REVIEW_NOTICE_DAYS = 14
    workflow.next_review_due = T0 + 20 * DAY
    workflow.save()
    return workflow


def test_a_campaign_opens_when_the_review_comes_within_the_notice_period(due_in_20_days, agent):
    with at(T0 + 5 * DAY):
        assert open_due_campaigns()["opened"] == 0
    with at(T0 + 6 * DAY):
        assert open_due_campaigns()["opened"] == 1
    campaign = ReviewCampaign.objects.get(workflow=due_in_20_days)
    assert campaign.status == "open"
    assert campaign.opened_at == T0 + 6 * DAY
    assert campaign.due_at == T0 + 20 * DAY


def test_a_short_cycle_opens_at_most_one_cycle_ahead(workflow, agent, settings):
    settings.REVIEW_NOTICE_DAYS = 14
    workflow.review_cycle_days = 7
    workflow.next_review_due = T0 + 10 * DAY
    workflow.save()
    with at(T0 + 2 * DAY):
        assert open_due_campaigns()["opened"] == 0
    with at(T0 + 3 * DAY):
        assert open_due_campaigns()["opened"] == 1


def test_items_are_the_active_grants_the_workloads_the_auto_approving_policies_and_the_owner(
    workflow, agent, owner, requester
):
    with at(T0):
        read = long_policy(workflow, access_level="read")  # medium risk: read is granted automatically
        write = long_policy(workflow, access_level="write")  # needs the owner: not an item
        auto_write = long_policy(workflow, access_level="write", approval_mode="auto", scope="github:deploy:write")
        grant = workload_grant(read, agent, requester)
        ended = workload_grant(read, agent, requester, task="run-0")
        revoke_grant(ended, reason="done")
        retired = factories.WorkloadIdentityFactory(workflow=workflow, owner=owner, status="retired")
        campaign = open_campaign(workflow)
    items = {
        (item.kind, item.grant_id or item.workload_id or item.policy_id or item.owner_id)
        for item in campaign.items.all()
    }
    assert items == {
        ("grant", grant.pk),
        ("workload", agent.pk),
        ("policy", read.pk),
        ("policy", auto_write.pk),
        ("ownership", owner.pk),
    }
    assert write.pk not in {i.policy_id for i in campaign.items.all()}
    assert retired.pk not in {i.workload_id for i in campaign.items.all()}
    assert all(item.outcome == "pending" for item in campaign.items.all())
    assert "for Requester" in campaign.items.get(kind="grant").label


def test_opening_twice_gives_one_campaign(due_in_20_days, agent):
    with at(T0 + 10 * DAY):
        open_due_campaigns()
        assert open_due_campaigns()["opened"] == 0
        with pytest.raises(IllegalTransition, match="already has an open access review"):
            open_campaign(due_in_20_days)
    assert ReviewCampaign.objects.filter(workflow=due_in_20_days).count() == 1


def test_a_workflow_with_nothing_to_review_closes_itself_with_a_note(due_in_20_days):
    with at(T0 + 10 * DAY):
        summary = open_due_campaigns()
    assert summary["closed_empty"] == 1
    campaign = ReviewCampaign.objects.get(workflow=due_in_20_days)
    assert campaign.status == "completed" and campaign.closed_by is None
    assert campaign.closed_at == T0 + 10 * DAY
    assert campaign.close_note.startswith("Nothing to review")
    assert not campaign.items.exists()
    due_in_20_days.refresh_from_db()
    # The next cycle counts from the close date, not from the old due date.
    assert due_in_20_days.next_review_due == T0 + 10 * DAY + timedelta(days=due_in_20_days.review_cycle_days)


@pytest.mark.parametrize("status", ["draft", "retired"])
def test_draft_and_retired_workflows_are_not_reviewed(status, owner, identity_source):
    with at(T0):
        workflow = factories.WorkflowFactory(
            control_owner=owner, identity_source=identity_source, status=status, next_review_due=T0 - DAY
        )
        factories.WorkloadIdentityFactory(workflow=workflow, owner=owner)
        assert open_due_campaigns()["opened"] == 0
        with pytest.raises(IllegalTransition, match="not reviewed"):
            open_campaign(workflow)


def test_a_suspended_workflow_is_still_reviewed(workflow, agent):
    workflow.status = "suspended"
    workflow.next_review_due = T0 + DAY
    workflow.save()
    with at(T0):
        assert open_due_campaigns()["opened"] == 1


def test_a_workflow_without_a_review_date_gets_its_first_one(workflow, agent):
    workflow.next_review_due = None
    workflow.save()
    with at(T0):
        assert open_due_campaigns()["scheduled"] == 1
    workflow.refresh_from_db()
    assert workflow.next_review_due == T0 + timedelta(days=workflow.review_cycle_days)
    assert not ReviewCampaign.objects.exists()


def test_a_campaign_opened_late_still_gives_the_owner_a_day(workflow, agent):
    # Beat was down: the review was due three days ago and nothing opened it.
    workflow.next_review_due = T0 - 3 * DAY
    workflow.save()
    with at(T0):
        open_due_campaigns()
    campaign = ReviewCampaign.objects.get(workflow=workflow)
    assert campaign.due_at == T0 + DAY
    workflow.refresh_from_db()
    assert workflow.next_review_due == campaign.due_at  # what the policy engine reads


def test_a_grant_held_by_the_owner_is_reviewed_too(workflow, owner):
    with at(T0):
        policy = long_policy(workflow)
        grant = person_grant(policy, owner)
        campaign = open_campaign(workflow)
    assert campaign.items.filter(kind="grant", grant=grant).exists()


def test_the_review_jobs_are_in_the_database_schedule_after_migrate():
    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks["governance.open_due_reviews"] == 15 * 60
    assert tasks["governance.enforce_review_deadlines"] == 5 * 60
    assert tasks["governance.send_reminders"] == 30 * 60
