"""End to end against a real Request Tracker, decided by polling (RT has no webhooks).

A pending write request by an agent opens an RT ticket; the control owner resolving it in
RT makes the grant active after one poll; an ineligible RT user or the workload's own RT
account resolving it is refused with a comment on the ticket.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import Approval, TicketLink
from approvals.queues.tasks import poll_ticket_queues
from tests.queues.helpers import connect, deliver_all, write_request

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.rt,
    pytest.mark.parametrize("ticket_system", ["rt"], indirect=True),
]


@pytest.fixture
def rt_request(ticket_system, workflow, requester, outsider):
    queue = connect(workflow, ticket_system)
    queue.poll_interval_seconds = 60
    queue.save(update_fields=["poll_interval_seconds"])
    request = write_request(workflow, requester)
    deliver_all()
    return queue, request, TicketLink.objects.get(request=request)


def poll_once():
    # Each poll is a new round for every queue: the interval has passed.
    from approvals.models import QueueConnection

    QueueConnection.objects.update(last_polled_at=timezone.now() - timedelta(hours=1))
    poll_ticket_queues()


def test_the_agents_request_opens_an_rt_ticket_in_the_queue(ticket_system, rt_request):
    queue, request, link = rt_request
    ticket = ticket_system.rt.ticket(link.external_key)
    assert ticket["Status"] == "new"
    assert "github:repo:write" in ticket["Subject"] and f"#{request.pk}" in ticket["Subject"]
    assert link.url.endswith(f"Ticket/Display.html?id={link.external_key}")


def test_resolving_in_rt_as_the_control_owner_activates_the_grant_after_one_poll(ticket_system, rt_request, owner):
    queue, request, link = rt_request
    ticket_system.act(link.external_key, "approve", "owner")
    request.refresh_from_db()
    assert request.state == "pending"  # nothing happens until Mandate reads the ticket
    poll_once()
    request.refresh_from_db()
    assert request.state == "approved" and request.grant.status == "active"
    assert Approval.objects.get(request=request).approver == owner
    deliver_all()
    assert any("Mandate granted github:repo:write" in c for c in ticket_system.comments(link.external_key))


def test_polling_waits_for_the_queues_interval(ticket_system, rt_request):
    queue, request, link = rt_request
    poll_once()
    ticket_system.act(link.external_key, "approve", "owner")
    poll_ticket_queues()  # the same minute: not due yet
    request.refresh_from_db()
    assert request.state == "pending"
    poll_once()
    request.refresh_from_db()
    assert request.state == "approved"


def test_an_ineligible_rt_user_resolving_is_refused_with_a_comment(ticket_system, rt_request):
    queue, request, link = rt_request
    ticket_system.act(link.external_key, "approve", "outsider")
    poll_once()
    poll_once()
    request.refresh_from_db()
    assert request.state == "pending" and not Approval.objects.exists()
    deliver_all()
    refusals = [c for c in ticket_system.comments(link.external_key) if "did not accept" in c]
    assert len(refusals) == 1 and "Only the control owner or backup owner" in refusals[0]


def test_the_workloads_own_rt_account_resolving_is_refused(ticket_system, rt_request):
    queue, request, link = rt_request
    request.workload.slug = "pr-agent"  # the workload's name in RT
    request.workload.save(update_fields=["slug"])
    ticket_system.act(link.external_key, "approve", "pr-agent")
    poll_once()
    request.refresh_from_db()
    assert request.state == "pending"
    deliver_all()
    assert any("workloads never approve" in c for c in ticket_system.comments(link.external_key))
