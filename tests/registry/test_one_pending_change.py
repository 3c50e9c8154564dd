"""One pending change per field of an object: a second, different widening change of what
already waits (a second add-policy for the same workflow and entitlement, another value for
a policy's approval mode, another backup owner) is refused with a 409 naming the pending
change, in the services, the API, the portal and registry apply alike. The same change
again returns the waiting one; a change of another field is filed beside it."""

import pytest
from django.urls import reverse

from governance.changes.decisions import cancel_change
from governance.exceptions import IllegalTransition
from governance.models import Policy, RegistryChange
from governance.registry_files.apply import check_document
from governance.registry_files.documents import RegistryFileError
from governance.registry_files.plan import render
from governance.services import create_policy
from tests import factories
from tests.portal.conftest import signed_in
from tests.registry.files import apply, plan_of, read
from tests.registry.test_registry_files import approve_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def repo_read(db, outsider):
    return factories.EntitlementFactory(scope="github:repo:read", access_level="read", resource_owner=outsider)


def add(by, workflow, entitlement, mode):
    return create_policy(by=by, workflow=workflow, entitlement=entitlement, approval_mode=mode)


def test_a_second_add_policy_for_the_same_entitlement_is_refused_naming_the_first(
    owner, backup_owner, workflow, repo_read, security
):
    first = add(owner, workflow, repo_read, "owner")
    # The same change again, by anyone who may file it, is the one that waits.
    assert add(backup_owner, workflow, repo_read, "owner") == first
    assert add(security, workflow, repo_read, "owner") == first
    with pytest.raises(IllegalTransition, match=f"Change #{first.pk} ") as refused:
        add(backup_owner, workflow, repo_read, "auto")
    assert refused.value.code == "change_pending" and "entitlement" in refused.value.field_errors
    # Nor a policy that denies everything, created at once, beside it: the approval would fail.
    with pytest.raises(IllegalTransition, match=f"Change #{first.pk} "):
        add(owner, workflow, repo_read, "deny")
    assert RegistryChange.objects.filter(state="pending").count() == 1 and not Policy.objects.exists()
    # Once withdrawn, another may be filed.
    cancel_change(first, by=owner)
    assert add(backup_owner, workflow, repo_read, "auto").kind == "add_policy"


def test_the_api_answers_409_naming_the_pending_change(api_as, owner, backup_owner, workflow, repo_read):
    body = {"workflow": workflow.slug, "entitlement": repo_read.scope, "approval_mode": "owner"}
    first = api_as(owner).post("/api/v1/policies/", body)
    assert first.status_code == 202
    second = api_as(backup_owner).post("/api/v1/policies/", {**body, "approval_mode": "auto"})
    assert second.status_code == 409 and second.json()["code"] == "change_pending"
    assert f"Change #{first.json()['id']} " in second.json()["message"]


def test_a_policy_field_waits_once_and_another_field_is_filed_beside_it(api_as, owner, workflow, repo_read):
    policy = factories.PolicyFactory(
        workflow=workflow, entitlement=repo_read, approval_mode="two_person", max_ttl_seconds=1800
    )
    url = f"/api/v1/policies/{policy.pk}/"
    auto = api_as(owner).patch(url, {"approval_mode": "auto"})
    assert auto.status_code == 202
    assert api_as(owner).patch(url, {"approval_mode": "auto"}).json()["id"] == auto.json()["id"]
    other = api_as(owner).patch(url, {"approval_mode": "owner"})
    assert other.status_code == 409 and f"#{auto.json()['id']}" in other.json()["message"]
    longer = api_as(owner).patch(url, {"max_ttl_seconds": 3600})
    assert longer.status_code == 202 and longer.json()["id"] != auto.json()["id"]


def test_the_portal_refuses_a_second_backup_owner_naming_the_pending_change(owner, workflow, outsider, requester):
    from tests.portal.test_workflow_registry import form_data

    page = signed_in(owner)
    url = reverse("governance:workflow_edit", args=[workflow.slug])
    data = form_data(workflow.identity_source, owner, slug=workflow.slug, name=workflow.name, status="active")
    data["risk_tier"], data["missed_review_action"] = workflow.risk_tier, workflow.missed_review_action
    assert page.post(url, {**data, "backup_owner": outsider.pk}).status_code == 302
    pending = RegistryChange.objects.get(kind="owners", state="pending")
    answer = page.post(url, {**data, "backup_owner": requester.pk})
    assert answer.status_code == 409
    assert f"change #{pending.pk}" in answer.content.decode()
    assert RegistryChange.objects.filter(state="pending").count() == 1


def test_registry_apply_and_its_plan_refuse_a_file_beside_a_different_pending_change(
    text, security, second, owner, backup_owner
):
    apply(security, text)
    approve_all(second, backup_owner)
    waiting = apply(security, text.replace("max_ttl_seconds: 1800", "max_ttl_seconds: 3600")).filed[0]
    other = text.replace("max_ttl_seconds: 1800", "max_ttl_seconds: 7200")
    expected = (
        f"file1.yaml:21: policy coding/github:repo:read: max_ttl_seconds: Waits for a decision in change #{waiting.pk}."
    )
    with pytest.raises(RegistryFileError) as planned:
        check_document(read(other), by=second)
    assert [str(p) for p in planned.value.problems] == [expected]
    # The files alone say so too (an auditor's plan), and a checked plan refuses them.
    (unchecked,) = plan_of(other).changes
    assert unchecked.blocked == {"max_ttl_seconds": waiting.pk}
    assert f"Refused while change #{waiting.pk} waits with another value" in render(plan_of(other))
    with pytest.raises(RegistryFileError) as applied:
        apply(second, other)
    assert [str(p) for p in applied.value.problems] == [expected]
    assert RegistryChange.objects.filter(state="pending").count() == 1


def test_a_drafts_owners_do_not_change_under_its_pending_activation(api_as, requester, outsider, identity_source):
    body = {"slug": "flow", "name": "Flow", "business_process": "p", "identity_source": identity_source.slug}
    activation = api_as(requester).post("/api/v1/workflows/", {**body, "status": "active"})
    assert activation.status_code == 202 and activation.json()["kind"] == "activate"
    # Whoever approves the activation approves these owners: they stay until it is decided.
    swapped = api_as(requester).patch("/api/v1/workflows/flow/", {"backup_owner": outsider.username})
    assert swapped.status_code == 409 and f"#{activation.json()['id']}" in swapped.json()["message"]
    assert api_as(requester).post(f"/api/v1/registry-changes/{activation.json()['id']}/cancel/", {}).status_code == 200
    assert api_as(requester).patch("/api/v1/workflows/flow/", {"backup_owner": outsider.username}).status_code == 200
