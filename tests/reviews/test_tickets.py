"""An access review's reminders reach the workflow's ticket queue as one review ticket.

Against a real Request Tracker and the GitHub fake: the campaign's first reminder opens the
ticket, later reminders are comments on it, completing the review closes it, retries
never open a second one, and nothing done in the ticket decides anything.
"""

from datetime import timedelta

import pytest

from approvals.models import OutboxMessage, TicketLink
from approvals.queues.outbox import relay
from approvals.queues.tasks import poll_ticket_queues
from governance.models import ReviewCampaign
from governance.reviews.services import decide_items
from tests.queues.helpers import connect, deliver_all, post_webhook
from tests.reviews.helpers import DAY, DUE_DAY_10, T0, at, run_review_jobs

pytestmark = pytest.mark.django_db(transaction=True)
BOTH = pytest.mark.parametrize("ticket_system", ["rt", "github"], indirect=True)
REVIEW_PAGE = "https://mandate.example.test/reviews/{}/"


@pytest.fixture(autouse=True)
def _review_settings(settings, workflow):
    settings.SITE_URL = "https://mandate.example.test"
    settings.REVIEW_NOTICE_DAYS = 14
    workflow.next_review_due = DUE_DAY_10
    workflow.save()


def remind(day):
    """The morning's review jobs, then the outbox relay, on day `day` after T0."""
    run_review_jobs(T0 + day * DAY)
    with at(T0 + day * DAY):
        deliver_all()


def review_link():
    return TicketLink.objects.get(campaign=ReviewCampaign.objects.get())


def decide_everything(campaign, by, day):
    with at(T0 + day * DAY):
        ids = list(campaign.items.values_list("pk", flat=True))
        decide_items(campaign, ids, by=by, decision="certify", comment="Still needed.")
        deliver_all()


@BOTH
def test_the_first_reminder_opens_one_review_ticket_saying_what_is_due(ticket_system, workflow, agent):
    connect(workflow, ticket_system)
    remind(0)
    campaign = ReviewCampaign.objects.get()
    link = review_link()
    assert link.request is None and link.closed_at is None
    assert ticket_system.tickets() == [link.external_key]
    text = ticket_system.text(link.external_key)
    assert f"Access review #{campaign.pk}: {workflow}, due 13 Mar 2031" in text
    assert "A new access review is open. 2 of 2 items still to decide" in text
    assert REVIEW_PAGE.format(campaign.pk) in text


@BOTH
def test_later_reminders_are_comments_on_the_same_ticket_once_each(ticket_system, workflow, agent):
    connect(workflow, ticket_system)
    for day in range(12):
        remind(day)
    remind(11)  # the jobs running twice the same day add nothing
    link = review_link()
    assert ticket_system.tickets() == [link.external_key]
    comments = ticket_system.comments(link.external_key)
    assert len(comments) == 4, comments
    due_in_3, tomorrow, today, overdue = comments
    assert "due in 3 days" in due_in_3 and "due tomorrow" in tomorrow and "due today" in today
    assert "overdue since 13 Mar 2031" in overdue and "Escalated to the backup owner" in overdue
    assert all(REVIEW_PAGE.format(link.campaign_id) in c for c in comments)


@BOTH
def test_completing_the_review_closes_its_ticket_with_the_summary(ticket_system, workflow, agent, backup_owner):
    connect(workflow, ticket_system)
    remind(0)
    link = review_link()
    decide_everything(link.campaign, backup_owner, day=1)
    link.refresh_from_db()
    assert link.campaign.status == "completed" and link.closed_at is not None
    assert ticket_system.is_closed(link.external_key)
    closing = ticket_system.comments(link.external_key)[-1]
    assert "is complete (last decision by Backup" in closing and "Completed: 2 certified (keep)." in closing
    remind(7)  # no campaign is open any more: nothing more reaches the closed ticket
    assert ticket_system.comments(link.external_key)[-1] == closing


@pytest.mark.parametrize("ticket_system", ["github"], indirect=True)
def test_a_review_completed_before_its_ticket_was_opened_opens_none(ticket_system, workflow, agent, backup_owner):
    connect(workflow, ticket_system)
    run_review_jobs(T0)  # the opening row is written, the relay has not run yet
    decide_everything(ReviewCampaign.objects.get(), backup_owner, day=0)
    assert ticket_system.tickets() == [] and not TicketLink.objects.exists()
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()


@BOTH
def test_500s_timeouts_and_a_lost_answer_still_make_exactly_one_review_ticket(ticket_system, workflow, agent):
    connect(workflow, ticket_system)
    ticket_system.inject("500")
    ticket_system.inject_on_create("timeout", "lost")
    run_review_jobs(T0)
    now = T0
    for _ in range(6):
        with at(now):
            relay()
        message = OutboxMessage.objects.get(topic="review_ticket.open")
        if message.delivered_at:
            break
        now = message.next_attempt_at + timedelta(seconds=1)
    assert message.delivered_at is not None and message.attempts == 4
    assert ticket_system.tickets() == [review_link().external_key]


@BOTH
def test_deciding_in_the_review_ticket_changes_nothing(ticket_system, workflow, agent, client):
    queue = connect(workflow, ticket_system)
    remind(0)
    link = review_link()
    ticket_system.act(link.external_key, "approve", "owner")
    response = post_webhook(client, queue, *ticket_system.webhook(link.external_key))
    assert response.status_code == 202 and response.json()["detail"] == "ignored"
    poll_ticket_queues()
    link.refresh_from_db()
    assert link.campaign.status == "open" and link.last_seen_marker == ""
    assert not link.campaign.items.exclude(outcome="pending").exists()


def test_a_workflow_without_a_queue_gets_its_reminders_by_e_mail_only(workflow, agent):
    run_review_jobs(T0)
    assert ReviewCampaign.objects.get().reminders.filter(channel="ticket").exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("ticket_system", ["github"], indirect=True)
def test_the_review_page_links_to_its_ticket(ticket_system, workflow, agent, client, owner):
    connect(workflow, ticket_system)
    remind(0)
    link = review_link()
    client.force_login(owner)
    page = client.get(link.campaign.get_absolute_url()).content.decode()
    assert f'href="{link.url}"' in page and f"{link.connection.name} {link.external_key}" in page
