"""Owners certify or revoke each item of a review; a revoke takes effect at once."""

from datetime import timedelta

import pytest

from approvals.services import authorize, expire_due_grants, submit_request, suspend_workload
from governance.exceptions import IllegalTransition, InvalidInput, NotAllowed, NotFound
from governance.reviews.services import (
    close_campaign,
    decide_item,
    decide_items,
    enforce_review_deadlines,
    open_campaign,
    settle_campaign,
)
from tests import factories
from tests.reviews.helpers import DAY, T0, at, long_policy, person_grant, workload_grant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _review_due_on_the_test_clock(workflow):
    workflow.next_review_due = T0 + 10 * DAY
    workflow.save()


@pytest.fixture
def read_policy(workflow):
    with at(T0):
        return long_policy(workflow, access_level="read")


@pytest.fixture
def grant(read_policy, agent, requester):
    with at(T0):
        return workload_grant(read_policy, agent, requester)


@pytest.fixture
def campaign(workflow, grant):
    with at(T0):
        return open_campaign(workflow)


def item(campaign, kind):
    return campaign.items.get(kind=kind)


def test_certifying_records_who_when_and_why(campaign, owner):
    with at(T0 + DAY):
        decided = decide_item(item(campaign, "grant"), by=owner, decision="certify", comment="Still needed for triage.")
    decided.refresh_from_db()
    assert (decided.outcome, decided.decided_by, decided.decided_at) == ("certified", owner, T0 + DAY)
    assert decided.comment == "Still needed for triage."
    assert decided.grant.status == "active"


def test_a_review_revoke_ends_the_grant_immediately(campaign, grant, owner, agent, workflow, read_policy):
    with at(T0 + DAY):
        assert authorize(workflow=workflow.slug, scope=read_policy.entitlement.scope, workload=agent).allow
        decide_item(item(campaign, "grant"), by=owner, decision="revoke", comment="Nobody uses this any more.")
        result = authorize(workflow=workflow.slug, scope=read_policy.entitlement.scope, workload=agent)
    assert not result.allow
    grant.refresh_from_db()
    assert (grant.status, grant.revoked_by, grant.ended_at) == ("revoked", owner, T0 + DAY)
    assert "Access review" in grant.end_reason and "Nobody uses this any more." in grant.end_reason
    assert item(campaign, "grant").outcome == "revoked"


def test_suspending_a_workload_from_a_review_is_the_kill_switch(campaign, grant, agent, owner):
    with at(T0 + DAY):
        decide_item(item(campaign, "workload"), by=owner, decision="suspend", comment="Replaced by the new agent.")
    agent.refresh_from_db()
    grant.refresh_from_db()
    assert agent.status == "suspended" and "Replaced by the new agent." in agent.status_reason
    assert grant.status == "revoked"
    assert item(campaign, "workload").outcome == "suspended"


def test_revoke_on_a_workload_suspends_it(campaign, agent, owner):
    with at(T0 + DAY):
        decide_item(item(campaign, "workload"), by=owner, decision="revoke", comment="Retired process.")
    agent.refresh_from_db()
    assert agent.status == "suspended" and item(campaign, "workload").outcome == "suspended"


def test_revoking_an_auto_approving_policy_makes_requests_wait_for_the_owner(
    campaign, read_policy, owner, agent, requester, workflow
):
    with at(T0 + DAY):
        decide_item(item(campaign, "policy"), by=owner, decision="revoke", comment="Read should be approved.")
        read_policy.refresh_from_db()
        request = submit_request(
            workflow=workflow,
            entitlement=read_policy.entitlement,
            duration_seconds=600,
            workload=agent,
            on_behalf_of=requester,
            task_ref="run-2",
            justification="after the review",
        )
    assert read_policy.approval_mode == "owner"
    assert request.state == "pending"


def test_the_owner_assignment_can_only_be_certified(campaign, owner):
    with pytest.raises(InvalidInput, match="assign another control owner"):
        decide_item(item(campaign, "ownership"), by=owner, decision="revoke", comment="Not me any more.")
    decide_item(item(campaign, "ownership"), by=owner, decision="certify")
    assert item(campaign, "ownership").outcome == "certified"


def test_only_workloads_can_be_suspended(campaign, owner):
    with pytest.raises(InvalidInput, match="only workload identities"):
        decide_item(item(campaign, "grant"), by=owner, decision="suspend", comment="x")


def test_a_revoke_needs_a_comment(campaign, owner, grant):
    with pytest.raises(InvalidInput) as error:
        decide_item(item(campaign, "grant"), by=owner, decision="revoke", comment="  ")
    assert error.value.field_errors == {"comment": ["This field is required."]}
    grant.refresh_from_db()
    assert grant.status == "active" and item(campaign, "grant").outcome == "pending"


def test_an_unknown_decision_is_refused(campaign, owner):
    with pytest.raises(InvalidInput, match="Unknown decision"):
        decide_item(item(campaign, "grant"), by=owner, decision="keep")


def test_nobody_certifies_their_own_access(workflow, owner, backup_owner):
    with at(T0):
        grant = person_grant(long_policy(workflow), owner)
        campaign = open_campaign(workflow)
    own = campaign.items.get(grant=grant)
    with pytest.raises(NotAllowed, match="Nobody certifies their own access"):
        decide_item(own, by=owner, decision="certify")
    decide_item(own, by=backup_owner, decision="certify", comment="Owner still needs it.")
    assert campaign.items.get(grant=grant).decided_by == backup_owner


def test_one_may_revoke_ones_own_access(workflow, owner):
    with at(T0):
        grant = person_grant(long_policy(workflow), owner)
        campaign = open_campaign(workflow)
        decide_item(campaign.items.get(grant=grant), by=owner, decision="revoke", comment="Do not need it.")
    grant.refresh_from_db()
    assert grant.status == "revoked"


@pytest.mark.parametrize("persona", ["outsider", "auditor", "requester"])
def test_only_the_workflow_owners_decide(campaign, persona, request):
    person = request.getfixturevalue(persona)
    with pytest.raises(NotAllowed, match="control owner or backup owner"):
        decide_item(item(campaign, "grant"), by=person, decision="certify")
    assert item(campaign, "grant").outcome == "pending"


def test_the_backup_owner_decides_too(campaign, backup_owner):
    decide_item(item(campaign, "workload"), by=backup_owner, decision="certify")
    assert item(campaign, "workload").decided_by == backup_owner


def test_an_item_is_decided_once(campaign, owner):
    decide_item(item(campaign, "grant"), by=owner, decision="certify")
    with pytest.raises(IllegalTransition, match="already decided"):
        decide_item(item(campaign, "grant"), by=owner, decision="revoke", comment="changed my mind")


def test_bulk_decisions_are_all_or_nothing(campaign, owner, grant):
    decide_item(item(campaign, "workload"), by=owner, decision="certify")
    every = list(campaign.items.values_list("pk", flat=True))
    with pytest.raises(IllegalTransition):
        decide_items(campaign, every, by=owner, decision="revoke", comment="clean up")
    grant.refresh_from_db()
    assert grant.status == "active"
    assert campaign.items.filter(outcome="pending").count() == len(every) - 1


def test_items_of_another_campaign_cannot_be_decided_through_this_one(campaign, owner, identity_source):
    with at(T0):
        other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
        factories.WorkloadIdentityFactory(workflow=other, owner=owner)
        foreign = open_campaign(other).items.first()
    with pytest.raises(NotFound):
        decide_items(campaign, [foreign.pk], by=owner, decision="certify")


def test_the_last_decision_completes_the_campaign_and_schedules_the_next_cycle(campaign, owner, workflow):
    pending = list(campaign.items.exclude(kind="grant").values_list("pk", flat=True))
    with at(T0 + DAY):
        decide_items(campaign, pending, by=owner, decision="certify", comment="All fine.")
    campaign.refresh_from_db()
    assert campaign.status == "open"
    with at(T0 + 2 * DAY):
        decide_item(item(campaign, "grant"), by=owner, decision="revoke", comment="Unused.")
    campaign.refresh_from_db()
    workflow.refresh_from_db()
    assert (campaign.status, campaign.closed_by, campaign.closed_at) == ("completed", owner, T0 + 2 * DAY)
    assert campaign.close_note == "Completed: 3 certified (keep), 1 revoked."
    assert workflow.next_review_due == T0 + 2 * DAY + timedelta(days=workflow.review_cycle_days)
    with pytest.raises(IllegalTransition, match="closed"):
        decide_item(item(campaign, "grant"), by=owner, decision="certify")


def test_a_campaign_with_open_items_cannot_be_closed(campaign, owner):
    with pytest.raises(IllegalTransition, match="4 item"):
        close_campaign(campaign, by=owner)


def test_a_grant_that_expires_before_its_review_lapses(workflow, agent, requester, owner):
    with at(T0):
        grant = workload_grant(long_policy(workflow), agent, requester, seconds=3600)
        campaign = open_campaign(workflow)
    with at(T0 + timedelta(hours=2)):
        expire_due_grants()
        assert settle_campaign(campaign) == 1
    lapsed = campaign.items.get(grant=grant)
    assert lapsed.outcome == "lapsed" and lapsed.decided_by is None and "expired" in lapsed.comment
    assert campaign.items.filter(outcome="pending").count() == 3


def test_when_everything_else_lapses_the_campaign_completes_by_itself(workflow, agent, owner):
    with at(T0):
        campaign = open_campaign(workflow)
        decide_item(campaign.items.get(kind="ownership"), by=owner, decision="certify")
        suspend_workload(agent, reason="incident")  # the kill switch, outside the review
    with at(T0 + DAY):
        settle_campaign(campaign)
    campaign.refresh_from_db()
    assert campaign.status == "completed" and campaign.closed_by is None
    assert campaign.items.get(kind="workload").outcome == "lapsed"


def test_retiring_the_workflow_closes_its_open_review(campaign, workflow):
    workflow.status = "retired"
    workflow.save()
    with at(T0 + DAY):
        enforce_review_deadlines()
    campaign.refresh_from_db()
    assert campaign.status == "completed"
    assert set(campaign.items.values_list("outcome", flat=True)) == {"lapsed"}
    assert "The workflow was retired" in campaign.items.first().comment
