"""The request page shows the request's ticket, and tells owners when the ticket queue failed
them: the ticket could not be opened, and the request can be decided in the portal."""

import pytest
from django.utils import timezone

from approvals.models import OutboxMessage, QueueConnection, TicketLink
from approvals.queues.outbox import relay
from tests import factories

from .conftest import ask, signed_in

pytestmark = pytest.mark.django_db

TOKEN_VARIABLE = "MANDATE_TEST_JIRA_TOKEN"


@pytest.fixture
def jira(workflow, monkeypatch):
    """A Jira queue for the workflow whose credential is not set: opening a ticket fails for good."""
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    queue = QueueConnection.objects.create(
        name="Acme Jira",
        kind="jira",
        base_url="https://acme.atlassian.net",
        project="SEC",
        credential_ref=f"env:{TOKEN_VARIABLE}",
    )
    workflow.queue = queue
    workflow.save(update_fields=["queue"])
    return queue


@pytest.fixture
def queued_request(jira, write_policy, requesters_agent, requester):
    request = ask(write_policy, agent=requesters_agent, for_whom=requester)
    assert request.state == "pending"
    assert OutboxMessage.objects.filter(idempotency_key__startswith=f"ticket.open:{request.pk}:").exists()
    return request


def page_of(client, request):
    response = client.get(request.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_the_ticket_shows_its_key_link_and_last_seen_status(as_owner, queued_request, jira):
    TicketLink.objects.create(
        request=queued_request,
        connection=jira,
        external_key="SEC-42",
        url="https://acme.atlassian.net/browse/SEC-42",
        last_seen_status="In Review",
        last_checked_at=timezone.now(),
    )
    html = page_of(as_owner, queued_request)
    ticket = html.split('id="ticket"')[1].split("</dd>")[0]
    assert 'href="https://acme.atlassian.net/browse/SEC-42"' in ticket and ">SEC-42<" in ticket
    assert "in Acme Jira" in ticket and "last seen “In Review”" in ticket
    assert 'id="ticket-trouble"' not in html


def test_a_ticket_that_could_not_be_opened_is_shown_to_the_owner_who_can_decide_here(as_owner, queued_request, jira):
    relay()  # the worker's attempt: the credential is missing, which no retry can fix
    message = OutboxMessage.objects.get(idempotency_key__startswith=f"ticket.open:{queued_request.pk}:")
    assert message.failed_at is not None
    html = page_of(as_owner, queued_request)
    banner = html.split('id="ticket-trouble"')[1].split("</div>\n  </div>")[0]
    assert "The ticket could not be opened in “Acme Jira”" in banner
    assert "The request can be decided here" in banner
    assert TOKEN_VARIABLE in banner  # the queue's own error, so someone can fix it
    assert "could not be opened" in html.split('id="ticket"')[1].split("</dd>")[0]
    assert "✓ Approve" in html


def test_administrators_get_a_link_to_the_connection(queued_request, jira):
    relay()
    admin = factories.UserFactory(username="admin", is_superuser=True, is_staff=True)
    html = page_of(signed_in(admin), queued_request)
    assert f"/admin/approvals/queueconnection/{jira.pk}/change/" in html


def test_the_requester_and_the_auditor_are_not_shown_the_queue_error(
    as_requester, as_auditor, as_owner, queued_request
):
    relay()
    for client in (as_requester, as_auditor):
        html = page_of(client, queued_request)
        assert 'id="ticket-trouble"' not in html and TOKEN_VARIABLE not in html
    assert 'id="ticket-trouble"' in page_of(as_owner, queued_request)


def test_a_queue_that_keeps_failing_is_a_warning_while_mandate_retries(
    as_owner, write_policy, requesters_agent, requester, workflow, monkeypatch
):
    monkeypatch.setenv(TOKEN_VARIABLE, "not-a-real-token")
    workflow.queue = QueueConnection.objects.create(
        name="Unreachable Jira",
        kind="jira",
        base_url="http://127.0.0.1:8159",  # nothing listens there: connection refused, a transient error
        project="SEC",
        credential_ref=f"env:{TOKEN_VARIABLE}",
    )
    workflow.save(update_fields=["queue"])
    request = ask(write_policy, agent=requesters_agent, for_whom=requester)
    assert relay() == {"retry": 1}
    html = page_of(as_owner, request)
    banner = html.split('id="ticket-trouble"')[1].split("</div>\n  </div>")[0]
    assert "Ticket delayed:" in banner and "Mandate keeps retrying" in banner
    assert "The request can be decided here" in banner


def test_once_decided_the_banner_is_gone(as_owner, queued_request):
    relay()
    as_owner.post(f"{queued_request.get_absolute_url()}decide/", {"decision": "approve"})
    queued_request.refresh_from_db()
    assert queued_request.state == "approved"
    assert 'id="ticket-trouble"' not in page_of(as_owner, queued_request)


def test_a_workflow_without_a_queue_says_the_request_is_decided_in_mandate(as_owner, agent_write_request):
    html = page_of(as_owner, agent_write_request)
    assert "no ticket: decided in Mandate" in html and 'id="ticket-trouble"' not in html
