"""Grants end on time, on revocation, when their task ends, and at the kill switch."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals.models import Grant
from approvals.services import (
    authorize,
    complete_task,
    decide,
    expire_due_grants,
    expire_grant,
    extend_grant,
    revoke_grant,
    submit_request,
    suspend_workload,
)
from governance.exceptions import IllegalTransition, InvalidInput
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


@pytest.fixture
def write_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


def agent_request(policy, agent, person, *, task="run-1", seconds=600, why="nightly run"):
    return submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=seconds,
        workload=agent,
        on_behalf_of=person,
        task_ref=task,
        justification=why,
    )


def agent_grant(policy, agent, person, *, task="run-1", seconds=600):
    return agent_request(policy, agent, person, task=task, seconds=seconds).grant


def check(policy, agent, **kwargs):
    return authorize(workflow=policy.workflow.slug, scope=policy.entitlement.scope, workload=agent, **kwargs)


def test_an_active_grant_allows_and_says_until_when(read_policy, agent, requester):
    grant = agent_grant(read_policy, agent, requester)
    result = check(read_policy, agent)
    assert result.allow and result.grant_id == grant.pk and result.expires_at == grant.expires_at


def test_access_ends_on_time_even_if_nothing_expired_the_grant(read_policy, agent, requester):
    grant = agent_grant(read_policy, agent, requester)
    with time_machine.travel(grant.expires_at + timedelta(seconds=1)):
        result = check(read_policy, agent)
    grant.refresh_from_db()
    assert grant.status == "active"  # no worker ran…
    assert not result.allow and "expired" in result.reasons[0]  # …and still no access


def test_the_sweeper_expires_overdue_grants_once(read_policy, agent, requester):
    grants = [agent_grant(read_policy, agent, requester, task=f"run-{i}") for i in range(3)]
    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert expire_due_grants(batch_size=2) == 3
        assert expire_due_grants() == 0
    assert {g.status for g in Grant.objects.filter(pk__in=[g.pk for g in grants])} == {"expired"}


def test_the_eta_task_is_a_no_op_before_expiry_and_after_revocation(read_policy, agent, requester):
    grant = agent_grant(read_policy, agent, requester)
    assert expire_grant(grant.pk) is False
    revoke_grant(grant, by=None, reason="done early")
    with time_machine.travel(grant.expires_at + timedelta(seconds=1)):
        assert expire_grant(grant.pk) is False
    grant.refresh_from_db()
    assert grant.status == "revoked"


def test_revocation_is_immediate_and_idempotent(read_policy, agent, requester, owner):
    grant = agent_grant(read_policy, agent, requester)
    revoke_grant(grant, by=owner, reason="incident 7")
    again = revoke_grant(grant, by=owner, reason="second click")
    assert again.status == "revoked" and again.end_reason == "incident 7" and again.revoked_by == owner
    result = check(read_policy, agent)
    assert not result.allow and result.reasons == [f"Grant #{grant.pk} was revoked: incident 7"]


def test_revocation_needs_a_reason(read_policy, agent, requester):
    with pytest.raises(InvalidInput):
        revoke_grant(agent_grant(read_policy, agent, requester), reason=" ")


def test_completing_a_task_ends_every_grant_of_that_task_only(
    read_policy, write_policy, agent, requester, backup_owner
):
    first = agent_grant(read_policy, agent, requester, task="run-7")
    request = agent_request(write_policy, agent, requester, task="run-7", seconds=600, why="push fix")
    second = decide(request, approver=backup_owner, decision="approve").grant
    other = agent_grant(read_policy, agent, requester, task="run-8")
    assert complete_task(read_policy.workflow, "run-7") == 2
    statuses = dict(Grant.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "revoked", second.pk: "revoked", other.pk: "active"}
    assert not check(read_policy, agent, task_ref="run-7").allow
    assert check(read_policy, agent, task_ref="run-8").allow


def test_the_kill_switch_suspends_revokes_and_cancels_in_one_call(read_policy, write_policy, agent, requester, owner):
    grant = agent_grant(read_policy, agent, requester)
    pending = agent_request(write_policy, agent, requester, task="run-1", seconds=600, why="push")
    summary = suspend_workload(agent, by=owner, reason="prompt injection suspected")
    assert summary == {"revoked_grants": 1, "cancelled_requests": 1}
    agent.refresh_from_db()
    grant.refresh_from_db()
    pending.refresh_from_db()
    assert agent.status == "suspended" and agent.status_reason == "prompt injection suspected"
    assert grant.status == "revoked" and "prompt injection" in grant.end_reason
    assert pending.state == "cancelled"
    assert agent_request(read_policy, agent, requester, task="r", seconds=60, why="j").state == "denied"


def test_a_suspended_workflow_stops_access_at_once(read_policy, agent, requester):
    agent_grant(read_policy, agent, requester)
    read_policy.workflow.status = "suspended"
    read_policy.workflow.save()
    result = check(read_policy, agent)
    assert not result.allow and "is suspended" in result.reasons[0]


class TestExtension:
    def test_an_extension_goes_through_policy_and_moves_the_expiry(self, read_policy, agent, requester):
        grant = agent_grant(read_policy, agent, requester, seconds=600)
        extension = extend_grant(grant, duration_seconds=3600)
        assert extension.state == "approved" and extension.extends == grant
        grant.refresh_from_db()
        assert grant.extension_count == 1
        assert grant.expires_at > grant.starts_at + timedelta(seconds=3500)
        assert Grant.objects.count() == 1

    def test_an_extension_beyond_the_maximum_is_refused_with_the_maximum(self, read_policy, agent, requester):
        grant = agent_grant(read_policy, agent, requester)
        extension = extend_grant(grant, duration_seconds=7200)
        assert extension.state == "denied" and "maximum of 1 h" in extension.decision_reasons[0]
        grant.refresh_from_db()
        assert grant.extension_count == 0

    def test_a_write_extension_waits_for_the_owner(self, write_policy, agent, requester, backup_owner):
        request = agent_request(write_policy, agent, requester, task="run-1", seconds=600, why="push")
        grant = decide(request, approver=backup_owner, decision="approve").grant
        extension = extend_grant(grant, duration_seconds=1800)
        assert extension.state == "pending"
        revoke_grant(grant, reason="task abandoned")
        extension.refresh_from_db()
        assert extension.state == "cancelled"

    def test_an_ended_grant_cannot_be_extended(self, read_policy, agent, requester):
        grant = agent_grant(read_policy, agent, requester)
        revoke_grant(grant, reason="done")
        with pytest.raises(IllegalTransition):
            extend_grant(grant, duration_seconds=60)


def test_the_allow_path_of_the_authorization_check_is_one_query(
    read_policy, agent, requester, django_assert_num_queries
):
    from approvals import signals

    agent_grant(read_policy, agent, requester)
    receivers = signals.authorization_checked.receivers
    signals.authorization_checked.receivers = []  # measure the check itself, not what listens to it
    try:
        with django_assert_num_queries(1):
            assert check(read_policy, agent).allow
    finally:
        signals.authorization_checked.receivers = receivers
