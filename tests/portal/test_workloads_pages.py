"""Workload identities: registered by workflow owners, keys shown once, the kill switch."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from identities.models import ApiKey, WorkloadIdentity, hash_api_key
from identities.services import issue_api_key
from tests import factories

from .conftest import ask

pytestmark = pytest.mark.django_db


def register(client, workflow, owner, **overrides):
    data = {
        "name": "Invoice bot",
        "slug": "invoice-bot",
        "kind": "bot",
        "description": "",
        "owner": owner.pk,
        "workflow": workflow.pk,
        "identity_source": "",
        "external_principal": "",
    }
    data.update(overrides)
    return client.post(reverse("identities:workload_create"), data)


def test_a_workflow_owner_registers_a_workload(as_owner, owner, workflow):
    response = register(as_owner, workflow, owner)
    workload = WorkloadIdentity.objects.get(slug="invoice-bot")
    assert response.status_code == 302 and response["Location"] == workload.get_absolute_url()
    assert workload.workflow == workflow and workload.owner == owner


def test_a_principal_used_by_another_workflow_is_refused_with_the_reason(as_owner, owner, workflow, agent):
    other = factories.WorkflowFactory(control_owner=owner)
    factories.WorkloadIdentityFactory(workflow=other, owner=owner, external_principal="role/shared")
    response = register(as_owner, workflow, owner, external_principal="role/shared")
    assert response.status_code == 400
    assert "one identity shared by several workflows cannot be governed" in str(
        response.context["form"].errors["external_principal"]
    )


def test_only_owners_of_the_workflow_bind_workloads_to_it(as_requester, requester, workflow):
    assert as_requester.get(reverse("identities:workload_create")).status_code == 403
    assert register(as_requester, workflow, requester).status_code == 403
    assert not WorkloadIdentity.objects.filter(slug="invoice-bot").exists()


def test_a_new_key_is_shown_once_and_stored_hashed(as_owner, agent):
    response = as_owner.post(reverse("identities:key_issue", args=[agent.slug]), {"name": "ci"})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    plaintext = response.context["new_key"]
    assert plaintext in response.content.decode() and "data-copy-target" in response.content.decode()
    key = ApiKey.objects.get(workload=agent)
    assert key.key_hash == hash_api_key(plaintext) and key.name == "ci"
    again = as_owner.get(agent.get_absolute_url()).content.decode()
    assert plaintext not in again and key.prefix in again


def test_rotating_shows_the_new_key_and_keeps_the_old_one_for_the_grace_period(as_owner, agent):
    old, _ = issue_api_key(workload=agent)
    response = as_owner.post(reverse("identities:key_rotate", args=[agent.slug, old.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 201
    assert response.content.decode().lstrip().startswith('<section class="card" id="api-keys"')
    old.refresh_from_db()
    assert old.expires_at is not None and old.revoked_at is None
    assert "Rotating out" in response.content.decode()


def test_revoking_a_key_stops_it(as_owner, agent):
    key, _ = issue_api_key(workload=agent)
    as_owner.post(reverse("identities:key_revoke", args=[agent.slug, key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_people_without_a_stake_cannot_manage_keys(as_outsider, as_auditor, agent):
    key, _ = issue_api_key(workload=agent)
    assert as_outsider.get(agent.get_absolute_url()).status_code == 404
    assert as_outsider.post(reverse("identities:key_revoke", args=[agent.slug, key.pk])).status_code == 404
    assert as_auditor.post(reverse("identities:key_issue", args=[agent.slug])).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None and ApiKey.objects.count() == 1


def test_a_suspended_workload_gets_no_new_key_and_is_told_why(as_owner, agent):
    agent.status = "suspended"
    agent.save()
    response = as_owner.post(reverse("identities:key_issue", args=[agent.slug]))
    assert response.status_code == 409
    assert "is not active; no key can be issued" in response.content.decode()


class TestTheKillSwitch:
    def test_the_confirmation_names_what_will_stop(self, as_owner, agent, read_policy, write_policy, requester):
        ask(read_policy, agent=agent, for_whom=requester)
        ask(write_policy, agent=agent, for_whom=requester, task_ref="PLAT-7")
        issue_api_key(workload=agent, name="runner")
        page = as_owner.get(reverse("identities:workload_suspend", args=[agent.slug])).content.decode()
        assert "1 active grant will be revoked" in page and "github:repo:read" in page
        assert "1 pending request will be withdrawn" in page and "github:repo:write" in page
        assert "Every authorization check will refuse it" in page and "mdt_" in page

    def test_suspending_revokes_and_withdraws_in_one_step(self, as_owner, agent, read_policy, write_policy, requester):
        grant = ask(read_policy, agent=agent, for_whom=requester).grant
        pending = ask(write_policy, agent=agent, for_whom=requester, task_ref="PLAT-7")
        url = reverse("identities:workload_suspend", args=[agent.slug])
        response = as_owner.post(url, {"reason": "Pushed to main without review"})
        assert response.status_code == 302
        agent.refresh_from_db()
        grant.refresh_from_db()
        pending.refresh_from_db()
        assert agent.status == "suspended" and agent.status_reason == "Pushed to main without review"
        assert grant.status == "revoked" and pending.state == "cancelled"

    def test_suspending_needs_a_reason_and_an_owner(self, as_owner, as_outsider, agent):
        url = reverse("identities:workload_suspend", args=[agent.slug])
        assert as_owner.post(url, {"reason": ""}).status_code == 400
        assert as_outsider.post(url, {"reason": "because"}).status_code == 404
        agent.refresh_from_db()
        assert agent.status == "active"

    def test_the_confirmation_says_its_api_keys_stop_working(self, as_owner, agent):
        issue_api_key(workload=agent, name="runner")
        page = as_owner.get(reverse("identities:workload_suspend", args=[agent.slug])).content.decode()
        assert "Its 1 API key stops working while it is suspended" in page
        assert "every API call with it is refused" in page


def bearer(plaintext):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


class TestReactivation:
    def suspend(self, client, workload):
        url = reverse("identities:workload_suspend", args=[workload.slug])
        assert client.post(url, {"reason": "Leaked key suspected"}).status_code == 302

    def reactivate(self, client, workload, reason="Key rotated, runner fixed"):
        return client.post(reverse("identities:workload_reactivate", args=[workload.slug]), {"reason": reason})

    def test_a_suspended_workloads_keys_are_refused_until_it_is_reactivated(
        self, as_owner, agent, read_policy, requester
    ):
        grant = ask(read_policy, agent=agent, for_whom=requester).grant
        _, plaintext = issue_api_key(workload=agent)
        assert bearer(plaintext).get("/api/v1/workflows/").status_code == 200
        self.suspend(as_owner, agent)
        refused = bearer(plaintext).get("/api/v1/workflows/")
        assert refused.status_code == 403 and "suspended" in refused.json()["message"]
        scope = {"workflow": agent.workflow.slug, "scope": "github:repo:read"}
        check = bearer(plaintext).post("/api/v1/authorize", scope)
        assert check.json()["allow"] is False

        response = self.reactivate(as_owner, agent)
        assert response.status_code == 302 and response["Location"] == agent.get_absolute_url()
        assert "is active again" in as_owner.get(response["Location"]).content.decode()
        agent.refresh_from_db()
        grant.refresh_from_db()
        assert agent.status == "active" and agent.status_reason == "Key rotated, runner fixed"
        assert bearer(plaintext).get("/api/v1/workflows/").status_code == 200
        assert grant.status == "revoked"  # nothing is restored

    def test_the_page_offers_reactivation_instead_of_the_kill_switch(self, as_owner, agent):
        issue_api_key(workload=agent, name="runner")
        self.suspend(as_owner, agent)
        page = as_owner.get(agent.get_absolute_url()).content.decode()
        assert f"Reactivate {agent}…" in page and f"Suspend {agent}…" not in page
        assert "Refused" in page and "while the workload is suspended" in page
        confirm = as_owner.get(reverse("identities:workload_reactivate", args=[agent.slug])).content.decode()
        assert "Leaked key suspected" in confirm
        assert "1 API key will work again" in confirm and "runner" in confirm
        assert "Nothing else comes back" in confirm

    def test_reactivating_needs_a_reason_and_a_manager(self, as_owner, as_outsider, as_auditor, agent):
        self.suspend(as_owner, agent)
        assert self.reactivate(as_owner, agent, reason="").status_code == 400
        assert self.reactivate(as_outsider, agent).status_code == 404
        assert self.reactivate(as_auditor, agent).status_code == 403
        agent.refresh_from_db()
        assert agent.status == "suspended"

    def test_an_active_workload_cannot_be_reactivated(self, as_owner, agent):
        response = self.reactivate(as_owner, agent)
        assert response.status_code == 409
        assert "not suspended" in response.content.decode()


def test_the_workload_list_has_a_fixed_number_of_queries(as_auditor, workflow, owner, django_assert_max_num_queries):
    for _ in range(30):
        factories.WorkloadIdentityFactory(workflow=workflow, owner=factories.UserFactory())
    with django_assert_max_num_queries(8):
        response = as_auditor.get(reverse("identities:workload_list"))
    assert len(response.context["page"]) == 25
