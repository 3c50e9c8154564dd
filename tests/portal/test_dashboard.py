"""The dashboard shows each person what needs them: decisions, expiries, reviews, health, denials."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests import factories

from .conftest import ask

pytestmark = pytest.mark.django_db


def dashboard(client):
    return client.get(reverse("governance:dashboard"))


def test_pending_approvals_show_with_the_oldest_waiting_time(as_owner, write_policy, requesters_agent, requester):
    with time_machine.travel(timezone.now() - timedelta(hours=3)):
        oldest = ask(write_policy, agent=requesters_agent, for_whom=requester, task_ref="PLAT-1")
    ask(write_policy, agent=requesters_agent, for_whom=requester, task_ref="PLAT-2")
    response = dashboard(as_owner)
    assert response.context["awaiting_count"] == 2
    assert response.context["oldest_waiting_since"] == oldest.created_at
    assert "Oldest has waited 3 h" in response.content.decode()


def test_grants_ending_within_a_day_are_listed(as_owner, agent_read_grant):
    response = dashboard(as_owner)
    assert [g.pk for g in response.context["expiring"]] == [agent_read_grant.pk]
    assert "expires in 1 h" in response.content.decode()


def test_overdue_reviews_and_unhealthy_workflows_stand_out(as_owner, owner, identity_source):
    overdue = factories.WorkflowFactory(
        name="Late review", control_owner=owner, next_review_due=timezone.now() - timedelta(days=1)
    )
    factories.WorkflowFactory(name="Fine", control_owner=owner, backup_owner=factories.UserFactory())
    response = dashboard(as_owner)
    assert [review.workflow.name for review in response.context["reviews"]] == ["Late review"]
    health = dict(response.context["workflow_rows"])
    assert health[overdue].problems == ["No backup owner", "Review overdue"]
    page = response.content.decode()
    assert "Review overdue" in page and "✓" not in page.split("Late review")[1].split("</tr>")[0]


def test_recent_denials_carry_their_reason(as_owner, read_policy, requester):
    denied = ask(read_policy, person=requester, seconds=24 * 3600)  # above the policy's maximum
    assert denied.state == "denied"
    response = dashboard(as_owner)
    assert [r.pk for r in response.context["denials"]] == [denied.pk]
    assert "exceeds the maximum" in response.content.decode()


def test_a_requester_sees_their_own_requests_not_others_work(as_requester, agent_write_request):
    response = dashboard(as_requester)
    assert response.context["awaiting_count"] == 0 and response.context["workflow_rows"] == []
    assert [r.pk for r in response.context["my_requests"]] == [agent_write_request.pk]


def test_the_dashboard_has_a_fixed_number_of_queries(
    as_owner, owner, write_policy, requester, django_assert_max_num_queries
):
    for i in range(20):
        factories.WorkflowFactory(control_owner=owner)
        agent = factories.WorkloadIdentityFactory(workflow=write_policy.workflow, owner=requester)
        ask(write_policy, agent=agent, for_whom=requester, task_ref=f"T-{i}")
    with django_assert_max_num_queries(15):
        dashboard(as_owner)


def test_auditors_see_every_pending_request_and_no_request_access_link(as_auditor, agent_write_request):
    response = as_auditor.get(reverse("governance:dashboard"))
    assert response.context["awaiting_title"] == "Pending requests"
    assert [r.pk for r in response.context["awaiting"]] == [agent_write_request.pk]
    assert reverse("approvals:request_create") not in response.content.decode()


def test_an_auditor_who_is_also_a_backup_owner_still_sees_the_whole_portfolio(as_auditor, auditor, owner):
    late = factories.WorkflowFactory(name="Late elsewhere", control_owner=owner, next_review_due=timezone.now())
    factories.WorkflowFactory(name="Hers to back up", control_owner=owner, backup_owner=auditor)
    late.next_review_due = timezone.now() - timedelta(days=2)
    late.save(update_fields=["next_review_due"])

    response = dashboard(as_auditor)

    assert [review.workflow.name for review in response.context["reviews"]] == ["Late elsewhere"]
    assert {wf.name for wf, _health in response.context["workflow_rows"]} == {"Late elsewhere", "Hers to back up"}
