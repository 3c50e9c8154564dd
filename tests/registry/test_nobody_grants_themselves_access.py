"""The core promise as a property: whatever registry changes, requests, approvals and review
decisions random people make, nobody ends up with an active grant that nobody other than
themselves approved. An auto-approved grant counts only under a workflow activation and a
policy that someone else approved."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.choices import Decision
from approvals.models import Grant
from approvals.services import decide, submit_request
from governance.changes.decisions import decide_change
from governance.choices import ChangeKind, ChangeState
from governance.exceptions import MandateError
from governance.models import RegistryChange, Workflow
from governance.reviews.services import decide_item, open_campaign
from governance.services import create_policy, register_workflow, update_policy, update_workflow
from tests import factories

pytestmark = pytest.mark.django_db

PEOPLE = ["sec", "alice", "bob", "carol", "audrey"]
ACTIONS = ["register", "add_policy", "widen", "name_backup", "decide_change", "request", "approve", "review"]

step = st.tuples(
    st.sampled_from(ACTIONS),
    st.integers(0, len(PEOPLE) - 1),  # who acts
    st.integers(0, 7),  # which object
    st.integers(0, len(PEOPLE) - 1),  # another person named
    st.sampled_from(["auto", "owner", "default"]),
)


@pytest.fixture
def world(identity_source):
    people = {
        "sec": factories.UserFactory(username="sec", is_superuser=True, identity_source=identity_source),
        "alice": factories.UserFactory(username="alice", identity_source=identity_source),
        "bob": factories.UserFactory(username="bob", identity_source=identity_source),
        "carol": factories.UserFactory(username="carol", identity_source=identity_source),
        "audrey": factories.AuditorFactory(username="audrey", identity_source=identity_source),
    }
    entitlements = [
        factories.EntitlementFactory(scope="github:repo:write", access_level="write", resource_owner=people["bob"]),
        factories.EntitlementFactory(scope="github:repo:read", access_level="read", resource_owner=None),
        factories.EntitlementFactory(
            scope="finance:reports:read", target_system="finance", resource_owner=people["carol"]
        ),
    ]
    return people, entitlements, identity_source


def pick(items, index):
    return items[index % len(items)] if items else None


def act(world, action, actor, index, other, mode):
    people, entitlements, source = world
    by, named = people[PEOPLE[actor]], people[PEOPLE[other]]
    workflows = list(Workflow.objects.order_by("pk"))
    workflow, entitlement = pick(workflows, index), pick(entitlements, index)
    if action == "register":
        register_workflow(
            by=by,
            name=f"W{len(workflows)}",
            slug=f"w{len(workflows)}",
            business_process="p",
            identity_source=source,
            risk_tier="low",
            status="active",
        )
    elif action == "add_policy" and workflow:
        create_policy(by=by, workflow=workflow, entitlement=entitlement, approval_mode=mode, max_ttl_seconds=600)
    elif action == "widen" and workflow and workflow.policies.exists():
        update_policy(pick(list(workflow.policies.order_by("pk")), index), by=by, approval_mode=mode)
    elif action == "name_backup" and workflow:
        update_workflow(workflow, by=by, backup_owner=named)
    elif action == "decide_change":
        change = pick(list(RegistryChange.objects.filter(state=ChangeState.PENDING).order_by("pk")), index)
        if change:
            decide_change(change, by=by, decision="approve" if mode != "default" else "deny", comment="no")
    elif action == "request" and workflow:
        submit_request(
            workflow=workflow,
            entitlement=entitlement,
            duration_seconds=300,
            requested_by=by,
            task_ref="T",
            justification="j",
        )
    elif action == "approve":
        from approvals.models import AccessRequest

        request = pick(list(AccessRequest.objects.filter(state="pending").order_by("pk")), index)
        if request:
            decide(request, approver=by, decision=Decision.APPROVE)
    elif action == "review" and workflow:
        campaign = workflow.review_campaigns.filter(status="open").first() or open_campaign(workflow)
        item = pick(list(campaign.items.filter(outcome="pending").order_by("pk")), index)
        if item:
            decide_item(item, by=by, decision="certify")


def approved_by_someone_else(kind_filter, holder_ids):
    """An approved registry change matching `kind_filter` decided by someone with no stake."""
    return (
        RegistryChange.objects.filter(state=ChangeState.APPROVED, **kind_filter)
        .exclude(decided_by_id__in=holder_ids)
        .exists()
    )


def check_no_self_granted_access():
    for grant in Grant.objects.filter(status="active").select_related("request", "workload"):
        holders = {pk for pk in (grant.requested_by_id, grant.on_behalf_of_id) if pk}
        if grant.workload_id:
            holders.add(grant.workload.owner_id)
        request = grant.request
        approvals = set(request.approvals.filter(decision="approve").values_list("approver_id", flat=True))
        activated = approved_by_someone_else(
            {"kind": ChangeKind.ACTIVATE_WORKFLOW, "workflow": grant.workflow_id}, holders
        )
        assert activated, f"grant #{grant.pk}: its workflow was activated by its own holder"
        if approvals:
            assert approvals - holders, f"grant #{grant.pk} approved only by its holder"
            assert len(approvals - holders) >= request.required_approvals
        else:
            assert approved_by_someone_else(
                {"kind": ChangeKind.ADD_POLICY, "workflow": grant.workflow_id, "entitlement": grant.entitlement_id},
                holders,
            ), f"grant #{grant.pk} auto-approved under a policy its holder approved"
            widened = RegistryChange.objects.filter(
                kind=ChangeKind.WIDEN_POLICY,
                state=ChangeState.APPROVED,
                policy__workflow=grant.workflow_id,
                policy__entitlement=grant.entitlement_id,
                decided_by_id__in=holders,
            )
            assert not widened.exists(), f"grant #{grant.pk} auto-approved under a policy its holder widened"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=30))
def test_nobody_ends_up_with_access_only_they_approved(world, steps):
    with transaction.atomic():
        for action, actor, index, other, mode in steps:
            try:
                with transaction.atomic():
                    act(world, action, actor, index, other, mode)
            except MandateError:
                pass  # refused with a reason: that is the point
            check_no_self_granted_access()
        transaction.set_rollback(True)


def test_the_property_sees_legitimate_grants_and_would_catch_a_self_approved_one(world):
    """The steps can reach active grants (so the property is not vacuous), and the check
    fails on access its holder approved alone."""
    people, entitlements, _ = world
    alice, bob, sec = people["alice"], people["bob"], people["sec"]
    for step_ in [
        ("register", 1, 0, 0, "auto"),  # alice registers w0, activation filed
        ("decide_change", 0, 0, 0, "auto"),  # sec approves it
        ("add_policy", 1, 0, 0, "auto"),  # alice: github:repo:write, auto, for bob
        ("decide_change", 2, 0, 0, "auto"),  # bob, the resource owner, approves
        ("request", 1, 0, 0, "auto"),  # alice asks: auto-approved under bob's approval
    ]:
        act(world, *step_)
    grant = Grant.objects.get(requested_by=alice, status="active")
    check_no_self_granted_access()
    RegistryChange.objects.filter(kind=ChangeKind.ADD_POLICY).update(decided_by=sec)
    check_no_self_granted_access()  # still someone else
    RegistryChange.objects.filter(kind=ChangeKind.ADD_POLICY).update(author=bob, decided_by=alice)
    with pytest.raises(AssertionError, match=f"grant #{grant.pk}"):
        check_no_self_granted_access()
