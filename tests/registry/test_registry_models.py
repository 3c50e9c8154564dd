"""The workflow registry holds its rules in the database where it can, in clean() otherwise."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from governance.models import Entitlement, Workflow
from tests import factories

pytestmark = pytest.mark.django_db


def test_workflow_slugs_are_unique(workflow):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.WorkflowFactory(slug=workflow.slug)


@pytest.mark.parametrize("days", [0, 367])
def test_review_cycle_outside_1_to_366_days_is_refused_by_the_database(workflow, days):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workflow.objects.filter(pk=workflow.pk).update(review_cycle_days=days)


@pytest.mark.parametrize("days", [0, 367])
def test_review_cycle_outside_range_has_a_clear_message(workflow, days):
    workflow.review_cycle_days = days
    with pytest.raises(ValidationError) as exc:
        workflow.full_clean()
    assert "between 1 and 366 days" in str(exc.value.message_dict["review_cycle_days"])


def test_an_active_workflow_without_owner_is_refused_by_the_database(workflow):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workflow.objects.filter(pk=workflow.pk).update(control_owner=None)


def test_an_unowned_workflow_may_exist_while_suspended(workflow):
    Workflow.objects.filter(pk=workflow.pk).update(status="suspended", control_owner=None)
    workflow.refresh_from_db()
    assert workflow.control_owner is None


def test_an_inactive_person_cannot_be_control_owner(workflow, owner):
    owner.is_active = False
    owner.save()
    workflow.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        workflow.full_clean()
    assert exc.value.message_dict["control_owner"] == ["The control owner must be an active person."]


def test_backup_owner_must_differ_from_control_owner(workflow, owner):
    workflow.backup_owner = owner
    with pytest.raises(ValidationError) as exc:
        workflow.full_clean()
    assert "someone other than the control owner" in exc.value.message_dict["backup_owner"][0]
    with pytest.raises(IntegrityError), transaction.atomic():
        workflow.save()


def test_entitlement_lifetime_must_be_positive():
    entitlement = factories.EntitlementFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Entitlement.objects.filter(pk=entitlement.pk).update(max_lifetime_seconds=0)


def test_entitlement_scope_must_name_its_target_system():
    entitlement = factories.EntitlementFactory.build(target_system="jira", scope="github:repo:read")
    with pytest.raises(ValidationError) as exc:
        entitlement.full_clean()
    assert "must start with the target system" in exc.value.message_dict["scope"][0]


def test_policy_is_unique_per_workflow_and_entitlement(workflow):
    policy = factories.PolicyFactory(workflow=workflow)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.PolicyFactory(workflow=workflow, entitlement=policy.entitlement)


def test_policy_ttl_cannot_exceed_the_entitlement_maximum(workflow):
    entitlement = factories.EntitlementFactory(max_lifetime_seconds=600)
    policy = factories.PolicyFactory.build(workflow=workflow, entitlement=entitlement, max_ttl_seconds=601)
    with pytest.raises(ValidationError) as exc:
        policy.full_clean()
    assert "600 s" in exc.value.message_dict["max_ttl_seconds"][0]


def test_workload_owner_must_be_active(workflow, owner):
    owner.is_active = False
    owner.save()
    workload = factories.WorkloadIdentityFactory.build(workflow=workflow, owner=owner)
    with pytest.raises(ValidationError) as exc:
        workload.full_clean()
    assert exc.value.message_dict["owner"] == ["The owner must be an active person."]


def test_one_external_principal_cannot_serve_two_workflows(workflow, owner):
    factories.WorkloadIdentityFactory(workflow=workflow, owner=owner, external_principal="arn:aws:iam::1:role/ai")
    other = factories.WorkflowFactory(control_owner=owner)
    shared = factories.WorkloadIdentityFactory.build(
        workflow=other, owner=owner, external_principal="arn:aws:iam::1:role/ai"
    )
    with pytest.raises(ValidationError) as exc:
        shared.full_clean()
    assert "shared by several workflows" in exc.value.message_dict["external_principal"][0]


def test_user_email_is_unique(owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.UserFactory(username="someone-else", email=owner.email)
