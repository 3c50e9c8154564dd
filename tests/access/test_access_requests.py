"""Access requests: submitted, evaluated, decided once, with separation of duties."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals.models import AccessRequest, Approval, Grant
from approvals.services import cancel_request, decide, submit_request, time_out_pending_requests
from governance.exceptions import IllegalTransition, InvalidInput, NotAllowed
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


def ask(policy, *, requester=None, agent=None, for_whom=None, seconds=600, **extra):
    return submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=seconds,
        requested_by=requester,
        workload=agent,
        on_behalf_of=for_whom,
        task_ref=extra.pop("task_ref", "run-1"),
        justification=extra.pop("justification", "Fix the flaky build"),
        **extra,
    )


def test_read_in_a_medium_risk_workflow_is_granted_at_once(read_policy, requester):
    request = ask(read_policy, requester=requester)
    assert request.state == "approved" and request.effect == "auto_approve"
    grant = request.grant
    assert grant.status == "active" and grant.requested_by == requester
    assert grant.expires_at - grant.starts_at == timedelta(seconds=600)
    assert "approved automatically" in request.decision_reasons[0]


def test_write_waits_for_the_owner_who_is_named(write_policy, requester, owner, backup_owner):
    request = ask(write_policy, requester=requester)
    assert request.state == "pending"
    assert request.eligible_approver_ids == [owner.pk, backup_owner.pk]
    assert not Grant.objects.exists()
    assert request.pending_until > timezone.now()


def test_owner_approval_issues_the_grant(write_policy, requester, owner):
    request = decide(ask(write_policy, requester=requester), approver=owner, decision="approve", comment="ok")
    assert request.state == "approved"
    assert request.grant.status == "active"
    assert Approval.objects.get(request=request).channel == "browser"


def test_a_deny_ends_the_request_without_a_grant(write_policy, requester, backup_owner):
    request = decide(ask(write_policy, requester=requester), approver=backup_owner, decision="deny", comment="no")
    assert request.state == "denied" and "Denied by" in request.state_reason
    assert not Grant.objects.exists()


def test_a_denied_request_is_stored_with_its_reasons(read_policy, requester):
    request = ask(read_policy, requester=requester, seconds=7200)
    assert request.state == "denied"
    assert "exceeds the maximum of 1 h" in request.decision_reasons[0]


def test_an_entitlement_outside_the_workflow_is_denied(workflow, requester):
    stray = factories.EntitlementFactory(scope="github:org:admin", access_level="admin")
    request = submit_request(
        workflow=workflow,
        entitlement=stray,
        duration_seconds=60,
        requested_by=requester,
        task_ref="t",
        justification="j",
    )
    assert request.state == "denied"
    assert "is not part of workflow" in request.decision_reasons[0]


def test_the_policy_is_snapshotted_on_the_request(write_policy, requester):
    request = ask(write_policy, requester=requester)
    write_policy.approval_mode = "auto"
    write_policy.save()
    request.refresh_from_db()
    assert request.policy_snapshot["approval_mode"] == "default"
    assert request.state == "pending"


class TestSeparationOfDuties:
    def test_nobody_approves_their_own_request(self, write_policy, owner):
        request = ask(write_policy, requester=owner)
        with pytest.raises(NotAllowed, match="your own request"):
            decide(request, approver=owner, decision="approve")

    def test_the_owner_of_a_workload_cannot_approve_what_it_asked_for_them(self, write_policy, agent, owner):
        request = ask(write_policy, agent=agent, for_whom=owner)
        with pytest.raises(NotAllowed):
            decide(request, approver=owner, decision="approve")

    def test_the_owner_of_a_workload_cannot_approve_what_it_asked_for_someone_else(
        self, write_policy, agent, owner, requester
    ):
        request = ask(write_policy, agent=agent, for_whom=requester)
        with pytest.raises(NotAllowed, match="You own the workload"):
            decide(request, approver=owner, decision="approve")

    def test_the_backup_owner_can_approve_an_agent_request(self, write_policy, agent, owner, backup_owner):
        request = ask(write_policy, agent=agent, for_whom=owner)
        assert decide(request, approver=backup_owner, decision="approve").state == "approved"

    def test_a_workload_never_approves(self, write_policy, agent, requester):
        request = ask(write_policy, requester=requester)
        with pytest.raises(NotAllowed, match="Workloads and API keys never approve"):
            decide(request, approver=agent, decision="approve")

    def test_an_outsider_is_not_eligible(self, write_policy, requester, outsider):
        with pytest.raises(NotAllowed, match="Only the control owner or backup owner"):
            decide(ask(write_policy, requester=requester), approver=outsider, decision="approve")

    def test_eligibility_is_checked_at_the_moment_of_approval(self, write_policy, requester, backup_owner, outsider):
        request = ask(write_policy, requester=requester)
        assert backup_owner.pk in request.eligible_approver_ids
        workflow = write_policy.workflow
        workflow.backup_owner = outsider
        workflow.save()
        with pytest.raises(NotAllowed):
            decide(request, approver=backup_owner, decision="approve")

    def test_an_inactive_owner_cannot_decide(self, write_policy, requester, owner):
        request = ask(write_policy, requester=requester)
        owner.is_active = False
        owner.save()
        with pytest.raises(NotAllowed, match="not active"):
            decide(request, approver=owner, decision="approve")

    def test_two_person_approval_needs_two_different_people(self, write_policy, requester, owner, backup_owner):
        write_policy.approval_mode = "two_person"
        write_policy.save()
        request = ask(write_policy, requester=requester)
        assert request.required_approvals == 2
        request = decide(request, approver=owner, decision="approve")
        assert request.state == "pending" and not Grant.objects.exists()
        with pytest.raises(IllegalTransition, match="already decided"):
            decide(request, approver=owner, decision="approve")
        request = decide(request, approver=backup_owner, decision="approve")
        assert request.state == "approved" and request.grant.status == "active"


class TestIllegalTransitions:
    def test_deciding_a_decided_request_is_refused(self, write_policy, requester, owner, backup_owner):
        request = decide(ask(write_policy, requester=requester), approver=owner, decision="deny")
        with pytest.raises(IllegalTransition, match="is denied, not pending"):
            decide(request, approver=backup_owner, decision="approve")

    def test_only_a_pending_request_can_be_cancelled(self, read_policy, requester):
        request = ask(read_policy, requester=requester)
        with pytest.raises(IllegalTransition, match="only a pending request can be cancelled"):
            cancel_request(request, by=requester)

    def test_cancelling_twice_is_a_no_op(self, write_policy, requester):
        request = cancel_request(ask(write_policy, requester=requester), by=requester, reason="not needed")
        assert cancel_request(request, by=requester).state == "cancelled"

    def test_an_unknown_decision_is_invalid(self, write_policy, requester, owner):
        with pytest.raises(InvalidInput):
            decide(ask(write_policy, requester=requester), approver=owner, decision="maybe")


def test_a_workload_must_say_for_whom_it_acts(write_policy, agent):
    with pytest.raises(InvalidInput) as exc:
        ask(write_policy, agent=agent)
    assert "on_behalf_of" in exc.value.field_errors


def test_a_request_left_waiting_times_out(write_policy, requester, owner):
    request = ask(write_policy, requester=requester)
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        with pytest.raises(IllegalTransition, match="timed out"):
            decide(request, approver=owner, decision="approve")
        assert time_out_pending_requests() == 1
        assert time_out_pending_requests() == 0
    request.refresh_from_db()
    assert request.state == "timed_out" and "No decision within" in request.state_reason


def test_a_retry_with_the_same_idempotency_key_returns_the_same_request(write_policy, requester):
    first = ask(write_policy, requester=requester, idempotency_key="abc")
    second = ask(write_policy, requester=requester, idempotency_key="abc")
    assert first.pk == second.pk and AccessRequest.objects.count() == 1


def test_a_future_start_is_honoured(read_policy, requester):
    start = timezone.now() + timedelta(hours=1)
    grant = ask(read_policy, requester=requester, starts_at=start).grant
    assert grant.starts_at == start and grant.expires_at == start + timedelta(seconds=600)


def test_the_workflow_is_read_afresh_not_trusted_from_the_caller(read_policy, requester):
    stale = read_policy.workflow
    type(stale).objects.filter(pk=stale.pk).update(status="suspended")
    request = ask(read_policy, requester=requester)
    assert request.state == "denied" and "is suspended, not active" in request.decision_reasons[0]
