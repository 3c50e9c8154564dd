"""A registry change that widens access travels through the workflow's ticket queue like a request.

Against a real Request Tracker and the Jira, GitHub and ServiceNow fakes: proposing the
change opens one ticket naming the change, its author, what widens and who may approve; a
decision taken in the ticket approves or denies it through the changes' own decision
service, so the author's approval from the ticket is refused (and the ticket reopened);
retries never open a second ticket. With the built-in queue the change waits in the
decider's inbox and nothing leaves.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import OutboxMessage, QueueConnection, TicketLink
from approvals.queues.change_tickets import queue_change_open
from approvals.queues.outbox import relay
from approvals.queues.tasks import poll_ticket_queues
from governance.changes.decisions import cancel_change, decide_change
from governance.changes.selectors import changes_awaiting
from governance.models import Policy, RegistryChange
from governance.services import create_policy
from tests import factories
from tests.queues.helpers import connect, deliver_all, post_webhook
from tests.reviews.helpers import at

pytestmark = pytest.mark.django_db(transaction=True)
REMOTE = pytest.mark.parametrize("ticket_system", ["rt", "jira", "github", "servicenow"], indirect=True)


@pytest.fixture
def repo_write(db, backup_owner):
    """github:repo:write, whose resource owner is the backup owner (she answers for GitHub)."""
    return factories.EntitlementFactory(scope="github:repo:write", access_level="write", resource_owner=backup_owner)


def propose_auto_write(workflow, entitlement, author):
    """The control owner asks for the write entitlement to be auto-approved in the workflow."""
    change = create_policy(by=author, workflow=workflow, entitlement=entitlement, approval_mode="auto")
    assert isinstance(change, RegistryChange) and change.is_pending
    return change


@pytest.fixture
def change_ticket(ticket_system, workflow, repo_write, owner):
    queue = connect(workflow, ticket_system)
    change = propose_auto_write(workflow, repo_write, owner)
    deliver_all()
    return queue, change, TicketLink.objects.get(change=change)


def poll_once():
    QueueConnection.objects.update(last_polled_at=timezone.now() - timedelta(hours=1))
    poll_ticket_queues()


@REMOTE
def test_a_widening_change_opens_one_ticket_naming_it_its_author_what_widens_and_who_approves(
    ticket_system, change_ticket, settings, client, backup_owner
):
    queue, change, link = change_ticket
    assert ticket_system.tickets() == [link.external_key]
    assert link.request is None and link.campaign is None and link.closed_at is None
    text = ticket_system.text(link.external_key)
    assert f"Registry change #{change.pk}: Add github:repo:write" in text
    assert "Proposed by:" in text and "owner@example.test" in text
    assert "Adding an entitlement to a workflow lets it be granted there." in text  # what widens
    assert "Backup (resource owner of github:repo:write" in text  # who approves
    assert "never the author" in text
    assert f"{settings.SITE_URL}/" in text and f"/{change.pk}/" in text
    client.force_login(backup_owner)
    page = client.get(change.get_absolute_url()).content.decode()
    assert f'href="{link.url}"' in page.replace("&amp;", "&")  # the change's page links its ticket


@REMOTE
def test_the_resource_owner_approving_in_the_ticket_applies_the_change(
    ticket_system, change_ticket, client, backup_owner
):
    queue, change, link = change_ticket
    ticket_system.act(link.external_key, "approve", "backup")
    response = post_webhook(client, queue, *ticket_system.webhook(link.external_key))
    assert response.status_code == 200 and response.json()["detail"] == "decided"
    change.refresh_from_db()
    assert change.state == "approved" and change.decided_by == backup_owner
    assert f"ticket {link.external_key}" in change.comment
    assert Policy.objects.get(workflow=change.workflow, entitlement=change.entitlement).approval_mode == "auto"
    deliver_all()
    link.refresh_from_db()
    assert link.closed_at is not None
    assert any(f"registry change #{change.pk} is approved" in c for c in ticket_system.comments(link.external_key))


@REMOTE
def test_the_author_approving_her_own_change_in_the_ticket_is_refused_and_the_ticket_reopened(
    ticket_system, change_ticket, client
):
    queue, change, link = change_ticket
    ticket_system.act(link.external_key, "approve", "owner")
    response = post_webhook(client, queue, *ticket_system.webhook(link.external_key))
    assert response.json()["detail"] == "refused"
    change.refresh_from_db()
    assert change.state == "pending" and change.decided_by is None
    assert not Policy.objects.filter(entitlement=change.entitlement).exists()
    deliver_all()
    refusals = [c for c in ticket_system.comments(link.external_key) if "did not accept" in c]
    assert len(refusals) == 1 and "Nobody approves their own registry change" in refusals[0]
    assert not ticket_system.is_closed(link.external_key)


@REMOTE
def test_a_person_who_may_not_decide_is_refused_then_the_decider_denies(
    ticket_system, change_ticket, client, backup_owner, outsider
):
    queue, change, link = change_ticket
    ticket_system.act(link.external_key, "approve", "outsider")
    assert post_webhook(client, queue, *ticket_system.webhook(link.external_key, "1")).json()["detail"] == "refused"
    deliver_all()
    assert any("Backup, the resource owner of" in c for c in ticket_system.comments(link.external_key))
    ticket_system.act(link.external_key, "deny", "backup")
    assert post_webhook(client, queue, *ticket_system.webhook(link.external_key, "2")).json()["detail"] == "decided"
    change.refresh_from_db()
    assert change.state == "denied" and change.decided_by == backup_owner
    assert not Policy.objects.filter(entitlement=change.entitlement).exists()


@pytest.mark.parametrize("ticket_system", ["rt"], indirect=True)
def test_polling_reads_the_decision_from_request_tracker(ticket_system, change_ticket, backup_owner):
    queue, change, link = change_ticket
    ticket_system.act(link.external_key, "approve", "backup")
    poll_once()
    change.refresh_from_db()
    assert change.state == "approved" and change.decided_by == backup_owner


@REMOTE
def test_deciding_in_mandate_closes_the_ticket(ticket_system, change_ticket, backup_owner):
    queue, change, link = change_ticket
    decide_change(change, by=backup_owner, decision="deny", comment="Write stays manual.")
    deliver_all()
    assert ticket_system.is_closed(link.external_key)
    assert any("Write stays manual." in c for c in ticket_system.comments(link.external_key))


@REMOTE
def test_the_author_withdrawing_the_change_closes_its_ticket_and_a_later_decision_there_does_nothing(
    ticket_system, change_ticket, client, owner
):
    queue, change, link = change_ticket
    cancel_change(change, by=owner, comment="Not needed after all.")
    deliver_all()
    assert ticket_system.is_closed(link.external_key)
    assert any("withdrawn" in c.lower() for c in ticket_system.comments(link.external_key))
    ticket_system.act(link.external_key, "approve", "backup")
    response = post_webhook(client, queue, *ticket_system.webhook(link.external_key, "late"))
    assert response.json()["detail"] in ("closed", "settled")
    change.refresh_from_db()
    assert change.state == "cancelled" and not Policy.objects.filter(entitlement=change.entitlement).exists()


@REMOTE
def test_retries_and_a_lost_answer_never_open_a_second_ticket(ticket_system, workflow, repo_write, owner):
    connect(workflow, ticket_system)
    ticket_system.inject("500")
    ticket_system.inject_on_create("timeout", "lost")
    change = propose_auto_write(workflow, repo_write, owner)
    queue_change_open(change)  # a second proposal event: the same outbox row
    now = timezone.now()
    for _ in range(6):
        with at(now):
            relay()
        message = OutboxMessage.objects.get(topic="change_ticket.open")
        if message.delivered_at:
            break
        now = message.next_attempt_at + timedelta(seconds=1)
    assert message.delivered_at is not None
    assert ticket_system.tickets() == [TicketLink.objects.get(change=change).external_key]


def test_with_the_built_in_queue_the_change_waits_in_the_deciders_inbox_and_nothing_leaves(
    workflow, repo_write, owner, backup_owner
):
    workflow.queue = QueueConnection.objects.create(name="Inbox", kind="portal")
    workflow.save(update_fields=["queue"])
    change = propose_auto_write(workflow, repo_write, owner)
    assert not OutboxMessage.objects.filter(topic__startswith="change_ticket").exists()
    assert changes_awaiting(backup_owner) == [change]
    assert changes_awaiting(owner) == []
