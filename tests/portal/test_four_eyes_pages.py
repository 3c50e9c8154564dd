"""The four-eyes walk-arounds in the browser: activation waits in the security team's inbox,
an auditor cannot be named backup owner, and a registry change is decided on its page."""

import pytest
from django.urls import reverse

from governance.models import RegistryChange, Workflow
from tests import factories
from tests.portal.conftest import signed_in
from tests.portal.test_workflow_registry import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def security(identity_source):
    return factories.UserFactory(username="sec", identity_source=identity_source, is_superuser=True, is_staff=True)


def test_registering_an_active_workflow_leaves_a_draft_and_a_change_for_the_security_team(
    as_requester, requester, identity_source, security
):
    answer = as_requester.post(
        reverse("governance:workflow_create"), form_data(identity_source, requester, status="active"), follow=True
    )
    workflow = Workflow.objects.get(slug="invoice-triage")
    assert workflow.status == "draft"
    assert "waits for a second person" in answer.content.decode()
    change = RegistryChange.objects.get(workflow=workflow, kind="activate")

    # Not in her own inbox to decide, and her own approval is refused on the page.
    assert change not in as_requester.get(reverse("approvals:inbox")).context["changes"]
    own = as_requester.post(change.get_absolute_url(), {"action": "approve"})
    assert own.status_code == 403 and "own registry change" in own.content.decode()

    sec = signed_in(security)
    inbox = sec.get(reverse("approvals:inbox"))
    assert change in inbox.context["changes"] and "Registry changes waiting for you" in inbox.content.decode()
    decided = sec.post(change.get_absolute_url(), {"action": "approve", "comment": "Known team."})
    assert decided.status_code == 302
    workflow.refresh_from_db()
    assert workflow.status == "active"


def test_the_portal_refuses_an_auditor_as_backup_owner(as_owner, owner, auditor, identity_source):
    answer = as_owner.post(
        reverse("governance:workflow_create"), form_data(identity_source, owner, backup_owner=auditor.pk)
    )
    assert answer.status_code == 400
    assert "auditor" in str(answer.context["form"].errors["backup_owner"])
    assert not Workflow.objects.filter(slug="invoice-triage").exists()


def test_the_resource_owner_sees_a_policy_change_in_her_inbox(owner, backup_owner, workflow):
    from governance.services import create_policy

    entitlement = factories.EntitlementFactory(
        scope="github:repo:admin", access_level="admin", resource_owner=backup_owner
    )
    change = create_policy(by=owner, workflow=workflow, entitlement=entitlement, approval_mode="auto")
    assert change in signed_in(backup_owner).get(reverse("approvals:inbox")).context["changes"]
    page = signed_in(backup_owner).get(change.get_absolute_url())
    assert page.status_code == 200 and page.context["can_decide"]
    assert "Admin access would be approved automatically" in page.content.decode() or page.context["change"].reasons
