"""An access request's answer carries its ticket: where it is, what Mandate last saw there,
and when Mandate closed it; null while no ticket exists."""

import pytest

from approvals.models import TicketLink
from tests.queues.helpers import connect, deliver_all, post_webhook, write_request

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("ticket_system", ["jira", "github"], indirect=True),
]


def ticket_seen_by(client, request):
    response = client.get(f"/api/v1/access-requests/{request.pk}/")
    assert response.status_code == 200, response.json()
    return response.json()["ticket"]


def test_the_request_shows_its_ticket_once_it_is_open(ticket_system, api_as, workflow, requester, owner):
    connect(workflow, ticket_system)
    request = write_request(workflow, requester)
    owner_client, requester_client = api_as(owner), api_as(requester)
    assert ticket_seen_by(owner_client, request) is None  # the outbox has not reached the queue yet
    deliver_all()
    link = TicketLink.objects.get(request=request)
    expected = {"kind": ticket_system.kind, "key": link.external_key, "url": link.url, "status": "", "closed_at": None}
    assert link.url.startswith("https://")
    assert ticket_seen_by(owner_client, request) == expected
    assert ticket_seen_by(requester_client, request) == expected
    listed = owner_client.get("/api/v1/access-requests/?state=pending").json()["results"]
    assert [r["ticket"] for r in listed] == [expected]


def test_the_ticket_follows_the_decision_made_there(ticket_system, api_as, workflow, requester, owner, client):
    queue = connect(workflow, ticket_system)
    request = write_request(workflow, requester)
    deliver_all()
    link = TicketLink.objects.get(request=request)
    ticket_system.act(link.external_key, "deny", "backup")
    post_webhook(client, queue, *ticket_system.webhook(link.external_key))
    deliver_all()
    ticket = ticket_seen_by(api_as(owner), request)
    assert ticket["status"] == ticket_system.decision_values["deny"]
    assert ticket["closed_at"] is not None
