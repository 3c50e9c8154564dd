"""The grants page: what is active and for how long, revoke with a reason, extend through the policy."""

import pytest
from django.urls import reverse

from approvals.models import Grant
from tests import factories

from .conftest import ask, signed_in

pytestmark = pytest.mark.django_db


def revoke(client, grant, reason="Task finished", **headers):
    return client.post(
        reverse("approvals:grant_revoke", args=[grant.pk]), {"reason": reason, **headers.pop("data", {})}, **headers
    )


def test_active_grants_show_the_time_remaining(as_owner, agent_read_grant):
    page = as_owner.get(reverse("approvals:grant_list")).content.decode()
    assert "github:repo:read" in page and "Coding agent" in page
    assert "ends in 1 h" in page
    assert f'datetime="{agent_read_grant.expires_at.isoformat()}"' in page  # absolute time for hover


def test_an_owner_revokes_a_grant_with_a_reason(as_owner, owner, agent_read_grant):
    response = revoke(as_owner, agent_read_grant, "Finished early")
    assert response.status_code == 302
    agent_read_grant.refresh_from_db()
    assert agent_read_grant.status == "revoked"
    assert agent_read_grant.revoked_by == owner and agent_read_grant.end_reason == "Finished early"


def test_revoking_in_the_list_swaps_the_row(as_owner, agent_read_grant):
    response = revoke(as_owner, agent_read_grant, HTTP_HX_REQUEST="true", data={"fragment": "row"})
    body = response.content.decode().strip()
    assert response.status_code == 200
    assert body.startswith(f'<tr id="grant-{agent_read_grant.pk}">')
    assert "Revoked" in body and f"Grant #{agent_read_grant.pk} revoked." in body


def test_a_revocation_needs_a_reason(as_owner, agent_read_grant):
    response = revoke(as_owner, agent_read_grant, "  ")
    assert response.status_code == 400
    assert b"Say why the grant is revoked." in response.content or b"This field is required." in response.content
    agent_read_grant.refresh_from_db()
    assert agent_read_grant.status == "active"


def test_revoking_twice_changes_nothing_and_says_so(as_owner, as_backup, owner, agent_read_grant):
    revoke(as_owner, agent_read_grant)
    response = revoke(as_backup, agent_read_grant, HTTP_HX_REQUEST="true")
    assert f"Grant #{agent_read_grant.pk} had already ended." in response.content.decode()
    agent_read_grant.refresh_from_db()
    assert agent_read_grant.revoked_by == owner


def test_outsiders_neither_see_nor_revoke(as_outsider, as_auditor, agent_read_grant):
    assert as_outsider.get(agent_read_grant.get_absolute_url()).status_code == 404
    assert revoke(as_outsider, agent_read_grant).status_code == 404
    assert as_auditor.get(agent_read_grant.get_absolute_url()).status_code == 200
    assert revoke(as_auditor, agent_read_grant).status_code == 403
    agent_read_grant.refresh_from_db()
    assert agent_read_grant.status == "active"


def test_the_holder_extends_through_the_policy(read_policy, requester):
    grant = ask(read_policy, person=requester).grant
    client = signed_in(requester)
    url = reverse("approvals:grant_extend", args=[grant.pk])
    response = client.post(url, {"duration_seconds": 2 * 3600, "justification": "Still debugging"})
    extension = grant.extension_requests.get()
    assert response.status_code == 302 and response["Location"] == extension.get_absolute_url()
    assert extension.state == "approved"
    grant.refresh_from_db()
    assert grant.extension_count == 1


def test_an_extension_without_a_reason_asks_for_one_on_the_form(read_policy, requester):
    grant = ask(read_policy, person=requester).grant
    client = signed_in(requester)
    response = client.post(reverse("approvals:grant_extend", args=[grant.pk]), {"duration_seconds": 2 * 3600})
    assert response.status_code == 400
    assert "say why the grant should last longer" in response.context["extend_form"].errors["justification"][0]
    assert not grant.extension_requests.exists()


def test_an_extension_longer_than_the_policy_allows_is_not_offered(read_policy, requester):
    grant = ask(read_policy, person=requester).grant
    client = signed_in(requester)
    response = client.post(reverse("approvals:grant_extend", args=[grant.pk]), {"duration_seconds": 8 * 3600})
    assert response.status_code == 400
    assert "Select a valid choice" in str(response.context["extend_form"].errors)
    assert not grant.extension_requests.exists()


def test_only_the_holder_asks_to_extend(as_owner, read_policy, requester):
    grant = ask(read_policy, person=requester).grant
    response = as_owner.post(reverse("approvals:grant_extend", args=[grant.pk]), {"duration_seconds": 3600})
    assert response.status_code == 403


def test_the_grants_list_has_a_fixed_number_of_queries(as_owner, read_policy, requester, django_assert_max_num_queries):
    for i in range(30):
        agent = factories.WorkloadIdentityFactory(workflow=read_policy.workflow, owner=requester)
        ask(read_policy, agent=agent, for_whom=requester, task_ref=f"run-{i}")
    assert Grant.objects.filter(status="active").count() == 30
    with django_assert_max_num_queries(8):
        response = as_owner.get(reverse("approvals:grant_list"))
    assert len(response.context["page"]) == 25
