"""Owners decide requests in the browser; refusals are explained, never a 500 or a no-op."""

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import Approval, Grant
from approvals.services import revoke_grant
from tests import factories

from .conftest import ask, signed_in

pytestmark = pytest.mark.django_db


def decide(client, request, decision, comment="", **headers):
    url = reverse("approvals:request_decide", args=[request.pk])
    return client.post(url, {"decision": decision, "comment": comment}, **headers)


def test_the_request_page_says_who_what_where_how_long_and_why(as_owner, agent_write_request):
    page = as_owner.get(agent_write_request.get_absolute_url()).content.decode()
    for fact in (
        "Coding agent",  # the workload
        "on behalf of <strong>Requester",  # the person it acts for
        "github:repo:write",
        "Write",  # access level
        "PLAT-1",  # task
        "1 h",  # how long
        "Push the fix branch",  # justification
        "Write access needs the control owner&#x27;s approval.",  # policy reason
        "no ticket: decided in Mandate",
    ):
        assert fact in page, fact
    assert "✓ Approve" in page and "✕ Deny" in page


def test_an_owner_approves_and_the_grant_is_active(as_owner, owner, agent_write_request):
    response = decide(as_owner, agent_write_request, "approve", "Scoped to PLAT-1")
    assert response.status_code == 302
    follow = as_owner.get(response["Location"])
    assert b"Approved: the grant is active." in follow.content
    grant = Grant.objects.get(request=agent_write_request)
    assert grant.status == "active" and grant.workload == agent_write_request.workload
    assert Approval.objects.get(request=agent_write_request).channel == "browser"


def test_a_settled_request_says_what_is_true_now(as_owner, owner, agent_write_request):
    decide(as_owner, agent_write_request, "approve", "Scoped to PLAT-1")
    page = as_owner.get(agent_write_request.get_absolute_url()).content.decode()
    policy_card = page.split('id="req-policy-h"')[1].split("</div>")[0]
    assert "Needs approval" not in policy_card and "needed approval" in policy_card

    revoke_grant(Grant.objects.get(request=agent_write_request), by=owner, reason="Done early")
    page = as_owner.get(agent_write_request.get_absolute_url()).content.decode()
    history = page.split('class="timeline"')[1].split("</ol>")[0]
    assert "issued</strong>, to run until" in history and "ending in" not in history
    assert "Grant revoked" in history and "Done early" in history


def test_htmx_swaps_the_request_body_in_place(as_owner, agent_write_request):
    response = decide(as_owner, agent_write_request, "approve", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="request-body">')
    assert "Approved: the grant is active." in body and "<html" not in body


def test_denying_needs_a_comment(as_owner, agent_write_request):
    response = decide(as_owner, agent_write_request, "deny")
    assert response.status_code == 400
    assert b"Say why you deny" in response.content
    agent_write_request.refresh_from_db()
    assert agent_write_request.state == "pending"
    assert decide(as_owner, agent_write_request, "deny", "Use a read grant").status_code == 302
    agent_write_request.refresh_from_db()
    assert agent_write_request.state == "denied"


def test_a_requester_cannot_approve_their_own_request_and_is_told_why(write_policy, backup_owner):
    own = ask(write_policy, person=backup_owner)
    client = signed_in(backup_owner)
    page = client.get(own.get_absolute_url()).content.decode()
    assert "You cannot decide this request." in page
    assert "You cannot decide your own request (separation of duties)." in page
    assert "✓ Approve" not in page
    # Posting anyway (a stale page, a hand-made form) gets the service's refusal, not a 500.
    response = decide(client, own, "approve")
    assert response.status_code == 403
    assert "You cannot decide your own request (separation of duties)." in response.content.decode()
    own.refresh_from_db()
    assert own.state == "pending" and not Approval.objects.exists()


def test_the_owner_of_the_agent_cannot_approve_what_it_asked(write_policy, agent, requester, owner):
    request = ask(write_policy, agent=agent, for_whom=requester)
    response = decide(signed_in(owner), request, "approve", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert "You own the workload" in response.content.decode()
    assert "separation of duties" in response.content.decode()


def test_a_decided_request_cannot_be_decided_again(as_owner, as_backup, agent_write_request):
    decide(as_owner, agent_write_request, "approve")
    response = decide(as_backup, agent_write_request, "deny", "Too late")
    assert response.status_code == 409
    assert b"is approved, not pending" in response.content
    assert Grant.objects.get(request=agent_write_request).status == "active"


def test_two_person_requests_show_who_approved_and_who_is_still_needed(identity_source, owner, backup_owner, requester):
    workflow = factories.WorkflowFactory(
        risk_tier="critical", control_owner=owner, backup_owner=backup_owner, identity_source=identity_source
    )
    policy = factories.PolicyFactory(workflow=workflow, entitlement=factories.EntitlementFactory(access_level="write"))
    request = ask(policy, person=requester)
    assert request.required_approvals == 2
    first = decide(signed_in(owner), request, "approve", HTTP_HX_REQUEST="true").content.decode()
    assert "a second approver is still needed" in first
    assert "1 of 2" in first and "1 more needed from Backup" in first
    again = decide(signed_in(owner), request, "approve", HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and "two-person approval needs someone else" in again.content.decode()
    final = decide(signed_in(backup_owner), request, "approve", HTTP_HX_REQUEST="true").content.decode()
    assert "2 of 2" in final and "Approved: the grant is active." in final


def test_people_without_a_stake_do_not_see_the_request(as_outsider, agent_write_request):
    assert as_outsider.get(agent_write_request.get_absolute_url()).status_code == 404
    assert decide(as_outsider, agent_write_request, "approve").status_code == 404


def test_auditors_read_but_do_not_decide(as_auditor, agent_write_request):
    page = as_auditor.get(agent_write_request.get_absolute_url()).content.decode()
    assert "Auditors read requests; they do not decide them." in page
    assert decide(as_auditor, agent_write_request, "approve").status_code == 403


def test_deciding_is_post_only_and_needs_csrf(owner, agent_write_request):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = reverse("approvals:request_decide", args=[agent_write_request.pk])
    assert client.get(url).status_code == 405
    assert client.post(url, {"decision": "approve"}).status_code == 403
    agent_write_request.refresh_from_db()
    assert agent_write_request.state == "pending"


def test_an_approver_sees_approve_and_deny_but_no_withdraw_and_may_not_withdraw(as_owner, agent_write_request):
    page = as_owner.get(agent_write_request.get_absolute_url()).content.decode()
    assert "Approve" in page and "Withdraw request" not in page
    url = reverse("approvals:request_cancel", args=[agent_write_request.pk])
    assert as_owner.post(url, {"reason": "Tidying up"}).status_code == 403
    agent_write_request.refresh_from_db()
    assert agent_write_request.state == "pending"


def test_the_requester_withdraws_a_pending_request(as_requester, agent_write_request):
    assert "Withdraw request" in as_requester.get(agent_write_request.get_absolute_url()).content.decode()
    url = reverse("approvals:request_cancel", args=[agent_write_request.pk])
    assert as_requester.post(url, {"reason": "Not needed"}).status_code == 302
    agent_write_request.refresh_from_db()
    assert agent_write_request.state == "cancelled"


class TestTheInbox:
    def test_the_inbox_lists_what_waits_for_me_and_not_what_i_cannot_decide(
        self, as_owner, owner, agent_write_request, write_policy, agent, requester
    ):
        ask(write_policy, agent=agent, for_whom=requester, task_ref="PLAT-9")  # owner owns this agent
        page = as_owner.get(reverse("approvals:inbox"))
        assert [r.pk for r in page.context["page"]] == [agent_write_request.pk]
        all_pending = as_owner.get(reverse("approvals:inbox"), {"view": "pending"}).context["page"]
        assert len(all_pending) == 2

    def test_the_inbox_has_a_fixed_number_of_queries(
        self, as_owner, write_policy, requester, django_assert_max_num_queries
    ):
        for i in range(30):
            agent = factories.WorkloadIdentityFactory(workflow=write_policy.workflow, owner=requester)
            ask(write_policy, agent=agent, for_whom=requester, task_ref=f"PLAT-{i}")
        with django_assert_max_num_queries(10):
            response = as_owner.get(reverse("approvals:inbox"))
        assert len(response.context["page"]) == 25

    def test_a_requester_sees_their_own_requests(self, as_requester, agent_write_request):
        response = as_requester.get(reverse("approvals:inbox"))
        assert response.context["view"] == "mine"
        assert [r.pk for r in response.context["page"]] == [agent_write_request.pk]
