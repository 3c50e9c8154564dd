"""A registry change of an entitlement alone (no one workflow: its resource owner, its
maximum lifetime) is evidence in the chain of every workflow that holds the entitlement,
proposed and decided, and nowhere else."""

import pytest

from governance.changes.decisions import decide_change
from governance.choices import EvidenceKind
from governance.evidence.models import EvidenceRecord
from governance.evidence.verification import verify_workflow_chain
from governance.services import update_entitlement
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def security(identity_source):
    return factories.UserFactory(username="sec", identity_source=identity_source, is_superuser=True, is_staff=True)


@pytest.fixture
def second(identity_source):
    return factories.UserFactory(username="sec2", identity_source=identity_source, is_superuser=True, is_staff=True)


def registry_evidence(workflow):
    return list(
        EvidenceRecord.objects.filter(workflow=workflow, kind=EvidenceKind.REGISTRY_CHANGE)
        .order_by("sequence")
        .values_list("outcome", "actor_id", "target_resource", "summary")
    )


@pytest.mark.parametrize(
    ("change", "decider"),
    [
        # Naming an owner waits for the security team; widening the entitlement for its resource owner.
        pytest.param(lambda people: {"resource_owner": people["requester"]}, "second", id="its resource owner"),
        pytest.param(lambda people: {"max_lifetime_seconds": 7 * 86400}, "owner", id="a longer maximum lifetime"),
    ],
)
def test_every_workflow_holding_the_entitlement_records_the_change_and_its_decision(
    request, change, decider, owner, backup_owner, requester, identity_source, security, second
):
    decider = request.getfixturevalue(decider)
    entitlement = factories.EntitlementFactory(scope="github:shared:write", access_level="write", resource_owner=owner)
    holders = [
        factories.WorkflowFactory(control_owner=owner, backup_owner=backup_owner, identity_source=identity_source)
        for _ in range(2)
    ]
    for workflow in holders:
        factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)
    bystander = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    factories.PolicyFactory(workflow=bystander, max_ttl_seconds=3600)  # another entitlement

    proposed = update_entitlement(entitlement, by=security, **change({"requester": requester})).proposed_change
    assert proposed is not None and proposed.workflow_id is None
    decide_change(proposed, by=decider, decision="approve")

    for workflow in holders:
        recorded = registry_evidence(workflow)
        assert [(outcome, actor, target) for outcome, actor, target, _ in recorded] == [
            ("submitted", security.pk, "github:shared:write"),
            ("approved", decider.pk, "github:shared:write"),
        ]
        assert all(f"Registry change #{proposed.pk}" in summary for *_, summary in recorded)
        assert verify_workflow_chain(workflow).ok
    assert registry_evidence(bystander) == []


def test_a_denied_change_of_an_entitlement_is_evidence_too(owner, identity_source, security):
    entitlement = factories.EntitlementFactory(scope="github:shared:read", resource_owner=owner)
    workflow = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)
    proposed = update_entitlement(entitlement, by=security, max_lifetime_seconds=30 * 86400).proposed_change
    decide_change(proposed, by=owner, decision="deny", comment="Too long for a shared scope.")
    assert [outcome for outcome, *_ in registry_evidence(workflow)] == ["submitted", "denied"]


def test_an_entitlement_no_workflow_holds_yet_leaves_every_chain_alone(owner, identity_source, security, workflow):
    entitlement = factories.EntitlementFactory(scope="github:unused:read", resource_owner=owner)
    assert update_entitlement(entitlement, by=security, max_lifetime_seconds=30 * 86400).proposed_change
    assert not EvidenceRecord.objects.filter(kind=EvidenceKind.REGISTRY_CHANGE).exists()
