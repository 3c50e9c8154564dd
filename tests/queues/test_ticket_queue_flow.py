"""A request that needs approval travels through the workflow's ticket queue and back.

Runs against every remote system: a real Request Tracker, and the Jira, GitHub and
ServiceNow fakes (their traffic checked against the vendors' descriptions).
"""

import copy
from datetime import timedelta

import pytest

from approvals.models import Approval, Grant, OutboxMessage, TicketLink
from approvals.services import cancel_request
from tests.queues.helpers import connect, deliver_all, post_webhook, write_request

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("ticket_system", ["rt", "jira", "github", "servicenow"], indirect=True),
]


@pytest.fixture
def queued(ticket_system, workflow, requester):
    """A pending request whose ticket is open in the system."""
    queue = connect(workflow, ticket_system)
    request = write_request(workflow, requester)
    deliver_all()
    return queue, request, TicketLink.objects.get(request=request)


def test_a_pending_request_opens_exactly_one_ticket(ticket_system, queued):
    queue, request, link = queued
    assert request.state == "pending"
    assert ticket_system.tickets() == [link.external_key]
    assert OutboxMessage.objects.get(topic="ticket.open").delivered_at is not None
    queue.refresh_from_db()
    assert queue.last_success_at is not None and queue.last_error == ""


def test_the_owner_approving_in_the_ticket_grants_access(ticket_system, queued, client, owner):
    queue, request, link = queued
    ticket_system.act(link.external_key, "approve", "owner")
    response = post_webhook(client, queue, *ticket_system.webhook(link.external_key))
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.state == "approved"
    approval = Approval.objects.get(request=request)
    assert (approval.approver, approval.channel, approval.decision) == (owner, "ticket", "approve")
    assert request.grant.status == "active"
    deliver_all()
    assert any("granted github:repo:write" in c for c in ticket_system.comments(link.external_key))


def test_a_replayed_webhook_changes_nothing(ticket_system, queued, client):
    queue, request, link = queued
    ticket_system.act(link.external_key, "approve", "owner")
    headers, body = ticket_system.webhook(link.external_key)
    assert post_webhook(client, queue, headers, body).status_code == 200
    rows = OutboxMessage.objects.count()
    replay = post_webhook(client, queue, headers, body)
    assert replay.status_code == 200 and replay.json()["detail"] in ("unchanged", "closed")
    assert Approval.objects.filter(request=request).count() == 1
    assert Grant.objects.filter(request=request).count() == 1
    assert OutboxMessage.objects.count() == rows


def test_a_forged_webhook_is_refused_and_changes_nothing(ticket_system, queued, client):
    queue, request, link = queued
    ticket_system.act(link.external_key, "approve", "owner")
    headers, body = ticket_system.webhook(link.external_key)
    forged = {k: ("sha256=" + "ab" * 32 if "Signature" in k else v) for k, v in headers.items()}
    assert post_webhook(client, queue, forged, body).status_code == 401
    assert post_webhook(client, queue, {}, body).status_code == 401
    request.refresh_from_db()
    assert request.state == "pending" and not Approval.objects.exists()
    link.refresh_from_db()
    assert link.last_seen_marker == ""


def test_an_ineligible_person_resolving_the_ticket_is_refused_with_a_comment(ticket_system, queued, client, outsider):
    queue, request, link = queued
    ticket_system.act(link.external_key, "approve", "outsider")
    assert post_webhook(client, queue, *ticket_system.webhook(link.external_key)).status_code == 200
    request.refresh_from_db()
    assert request.state == "pending" and not Approval.objects.exists()
    deliver_all()
    refusal = [c for c in ticket_system.comments(link.external_key) if "did not accept" in c]
    assert len(refusal) == 1
    assert "Only the control owner or backup owner" in refusal[0]
    # The poller reading the same ticket again neither decides nor comments twice.
    post_webhook(client, queue, *ticket_system.webhook(link.external_key, event="again"))
    deliver_all()
    assert len([c for c in ticket_system.comments(link.external_key) if "did not accept" in c]) == 1


def test_a_workloads_account_approving_is_refused(ticket_system, queued, client):
    queue, request, link = queued
    # pr-coding-agent is the workload's slug; the ticket-system account is "pr-agent".
    request.workload.slug = "pr-agent"
    request.workload.save(update_fields=["slug"])
    ticket_system.act(link.external_key, "approve", "pr-agent")
    post_webhook(client, queue, *ticket_system.webhook(link.external_key))
    request.refresh_from_db()
    assert request.state == "pending" and not Approval.objects.exists()
    deliver_all()
    assert any("workloads never approve" in c for c in ticket_system.comments(link.external_key))


def test_a_denial_in_the_ticket_denies_the_request_and_closes_the_ticket(ticket_system, queued, client, backup_owner):
    queue, request, link = queued
    ticket_system.act(link.external_key, "deny", "backup")
    post_webhook(client, queue, *ticket_system.webhook(link.external_key))
    request.refresh_from_db()
    assert request.state == "denied"
    assert Approval.objects.get(request=request).approver == backup_owner
    deliver_all()
    link.refresh_from_db()
    assert link.closed_at is not None and ticket_system.is_closed(link.external_key)


def test_cancelling_the_request_closes_its_ticket_with_a_comment(ticket_system, queued, requester):
    queue, request, link = queued
    cancel_request(request, by=requester, reason="Fixed another way")
    deliver_all()
    assert ticket_system.is_closed(link.external_key)
    assert any("cancelled" in c.lower() for c in ticket_system.comments(link.external_key))


def test_a_ticket_another_installation_left_for_the_same_request_id_is_not_taken_over(
    ticket_system, workflow, requester, client
):
    from approvals.queues.request_tickets import request_content

    queue = connect(workflow, ticket_system)
    request = write_request(workflow, requester)
    # A restored backup or a staging copy sharing the queue once asked for its own request
    # with this id (made at another moment), and an owner approved it there.
    theirs = copy.copy(request)
    theirs.created_at -= timedelta(days=30)
    stale = ticket_system.adapter().create_ticket(request_content(theirs))
    ticket_system.act(stale.key, "approve", "owner")
    deliver_all()
    link = TicketLink.objects.get(request=request)
    assert link.external_key != stale.key and sorted(ticket_system.tickets()) == sorted([stale.key, link.external_key])
    assert post_webhook(client, queue, *ticket_system.webhook(stale.key)).json()["detail"] == "ignored"
    request.refresh_from_db()
    assert request.state == "pending" and not Approval.objects.exists()


def test_a_second_ticket_opened_beside_the_linked_one_is_closed_as_a_duplicate(ticket_system, queued):
    from approvals.queues.request_tickets import record_ticket_opened, request_content

    queue, request, link = queued
    # A delivery that outlived its lease created another ticket after the link was made.
    duplicate = ticket_system.adapter().create_ticket(request_content(request))
    assert record_ticket_opened(request, queue, duplicate) == link
    assert ticket_system.is_closed(duplicate.key) and not ticket_system.is_closed(link.external_key)
    assert any(f"duplicate of ticket {link.external_key}" in c for c in ticket_system.comments(duplicate.key))
