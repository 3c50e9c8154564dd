"""Every request, decision, grant, expiry, revocation, authorization and suspension is evidence.

Through the real approval services: the receivers write in the service's transaction.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from approvals.services import (
    authorize,
    cancel_request,
    complete_task,
    decide,
    expire_due_grants,
    extend_grant,
    revoke_grant,
    submit_request,
    suspend_workload,
    time_out_pending_requests,
)
from governance.evidence.intake import seal_intake
from governance.evidence.models import EvidenceIntake, EvidenceRecord
from governance.evidence.verification import verify_workflow_chain
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


def ask(policy, *, agent=None, person=None, for_whom=None, task_ref="run-1", seconds=600):
    return submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=seconds,
        requested_by=person,
        workload=agent,
        on_behalf_of=for_whom,
        task_ref=task_ref,
        justification="Fix the flaky build",
    )


def story(workflow):
    return list(EvidenceRecord.objects.filter(workflow=workflow).order_by("sequence").values_list("kind", "outcome"))


def test_an_auto_approved_request_records_request_decision_and_grant(read_policy, agent, requester, workflow):
    request = ask(read_policy, agent=agent, for_whom=requester)
    assert story(workflow) == [("request", "submitted"), ("approval", "approved"), ("grant", "issued")]
    submitted, decided, issued = EvidenceRecord.objects.filter(workflow=workflow).order_by("sequence")
    assert submitted.access_request_id == request.pk and submitted.workload_id == agent.pk
    assert submitted.on_behalf_of_id == requester.pk and submitted.target_resource == "github:repo:read"
    assert decided.actor_id is None and "Policy approved" in decided.summary
    assert issued.grant_id == request.grant.pk and issued.task_ref == "run-1"
    assert verify_workflow_chain(workflow).ok


def test_an_owner_decision_names_the_approver(write_policy, requester, owner, workflow):
    request = ask(write_policy, person=requester)
    decide(request, approver=owner, decision="approve", channel="browser", comment="ok for the hotfix")
    decision = EvidenceRecord.objects.get(workflow=workflow, kind="approval")
    assert decision.actor_id == owner.pk and decision.outcome == "approved"
    assert "via browser: ok for the hotfix" in decision.summary
    assert story(workflow)[-1] == ("grant", "issued")


def test_a_denial_is_recorded_once(write_policy, requester, owner, workflow):
    request = ask(write_policy, person=requester)
    decide(request, approver=owner, decision="deny", channel="ticket", comment="not this week")
    assert story(workflow) == [("request", "submitted"), ("approval", "denied")]


def test_cancellation_and_time_out_are_recorded(write_policy, requester, workflow):
    cancel_request(ask(write_policy, person=requester, task_ref="a"), by=requester, reason="not needed")
    ask(write_policy, person=requester, task_ref="b")
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert time_out_pending_requests() == 1
    outcomes = [outcome for kind, outcome in story(workflow) if kind == "request"]
    assert outcomes == ["submitted", "cancelled", "submitted", "timed_out"]


def test_revocation_expiry_and_extension_are_recorded(read_policy, requester, owner, workflow):
    revoked = ask(read_policy, person=requester, task_ref="a").grant
    revoke_grant(revoked, by=owner, reason="incident 42")
    extended = ask(read_policy, person=requester, task_ref="b").grant
    extend_grant(extended, duration_seconds=1800, requested_by=requester, justification="Still needed")
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert expire_due_grants() == 1
    seal_intake()  # the sweeper's records go through the intake on PostgreSQL
    ended = EvidenceRecord.objects.filter(workflow=workflow, kind="grant").exclude(outcome="issued")
    by_outcome = {r.outcome: r for r in ended}
    assert set(by_outcome) == {"revoked", "extended", "expired"}
    assert by_outcome["revoked"].actor_id == owner.pk and "incident 42" in by_outcome["revoked"].summary
    assert by_outcome["extended"].grant_id == extended.pk and by_outcome["expired"].grant_id == extended.pk
    assert verify_workflow_chain(workflow).ok


def test_every_authorization_decision_is_recorded_with_its_reasons(read_policy, agent, requester, workflow):
    grant = ask(read_policy, agent=agent, for_whom=requester).grant
    assert authorize(workflow=workflow, scope="github:repo:read", workload=agent, task_ref="run-1").allow
    assert not authorize(workflow=workflow.slug, scope="github:repo:write", workload=agent).allow
    # Decisions land in the intake at once and join the chain when the sequencer runs.
    assert EvidenceIntake.objects.filter(workflow=workflow).count() == 2
    assert seal_intake() == 2
    allowed, denied = EvidenceRecord.objects.filter(workflow=workflow, kind="authorization").order_by("sequence")
    assert (allowed.outcome, allowed.grant_id, allowed.on_behalf_of_id) == ("allowed", grant.pk, requester.pk)
    assert allowed.workload_id == agent.pk and allowed.target_resource == "github:repo:read"
    assert denied.outcome == "denied" and denied.grant_id is None and "No grant" in denied.summary


def test_an_authorization_check_for_an_unknown_workflow_has_no_chain_to_join(agent):
    assert not authorize(workflow="no-such-workflow", scope="github:repo:read", workload=agent).allow
    assert not EvidenceIntake.objects.exists()
    assert not EvidenceRecord.objects.filter(kind="authorization").exists()


def test_a_person_checking_their_own_access_is_the_actor(read_policy, requester, workflow):
    ask(read_policy, person=requester)
    authorize(workflow=workflow, scope="github:repo:read", user=requester)
    seal_intake(workflow.pk)
    check = EvidenceRecord.objects.get(workflow=workflow, kind="authorization")
    assert check.actor_id == requester.pk and check.workload_id is None and check.outcome == "allowed"


def test_the_kill_switch_and_task_completion_are_recorded(read_policy, agent, requester, owner, workflow):
    ask(read_policy, agent=agent, for_whom=requester, task_ref="run-1")
    ask(read_policy, agent=agent, for_whom=requester, task_ref="run-2")
    assert complete_task(workflow, "run-1", by=owner) == 1
    suspend_workload(agent, by=owner, reason="prompt injection suspected")
    revocations = EvidenceRecord.objects.filter(workflow=workflow, kind="grant", outcome="revoked")
    assert sorted(r.task_ref for r in revocations) == ["run-1", "run-2"]
    suspended = EvidenceRecord.objects.get(workflow=workflow, kind="workload")
    assert suspended.outcome == "suspended" and suspended.actor_id == owner.pk
    assert "prompt injection suspected" in suspended.summary


def test_evidence_rolls_back_with_the_change_it_records(read_policy, requester, workflow):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        ask(read_policy, person=requester)
        assert EvidenceRecord.objects.filter(workflow=workflow).count() == 3
        raise Abort
    assert not EvidenceRecord.objects.exists()
    # The chain head rolled back too: the next record starts the chain again.
    ask(read_policy, person=requester)
    assert EvidenceRecord.objects.filter(workflow=workflow).order_by("sequence").first().sequence == 1


def test_review_decisions_are_recorded(workflow, agent, requester, owner):
    from governance.reviews.services import decide_item, open_campaign
    from tests.reviews.helpers import DAY, T0, at, long_policy, workload_grant

    workflow.next_review_due = T0 + 10 * DAY
    workflow.save()
    with at(T0):
        grant = workload_grant(long_policy(workflow), agent, requester)
        campaign = open_campaign(workflow)
    with at(T0 + DAY):
        decide_item(campaign.items.get(kind="grant"), by=owner, decision="revoke", comment="Nobody uses it.")
    review = EvidenceRecord.objects.get(workflow=workflow, kind="review")
    assert (review.outcome, review.actor_id, review.grant_id) == ("revoked", owner.pk, grant.pk)
    assert review.on_behalf_of_id == requester.pk and "Nobody uses it." in review.summary
    assert verify_workflow_chain(workflow).ok
