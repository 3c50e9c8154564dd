"""Access reviews in the workflow's ticket queue: a campaign's reminders as one ticket.

Owners work where they already work: the first reminder of a campaign opens a review
ticket in the workflow's queue, each later reminder becomes a comment on it, and the
campaign's completion closes it. Everything travels through the outbox, written by the
reminders (`reminders.hand_to_ticket_queue`) and the campaign's closing inside the
reviews' own transactions. Nothing is read back from the ticket: a review is decided in Mandate, item
by item, by the people the review services allow.
"""

from django.utils import timezone

from approvals.models import OutboxMessage, TicketLink
from approvals.queues.connections import tag_key
from approvals.queues.outbox import handler
from approvals.queues.ticket_flow import TicketFlow, remote_queue
from approvals.tickets import ReviewTicketContent
from governance.models import ReviewCampaign

# Comments after the campaign's close are dropped; the close itself decides nothing.
FLOW = TicketFlow(
    "review_ticket",
    "campaign",
    opening="Opening the ticket of access review #{}",
    quiet_once_closed=True,
    closed_as="approved",
)
OPEN, COMMENT, CLOSE = FLOW.open, FLOW.comment, FLOW.close


def review_title(campaign):
    due = timezone.localdate(campaign.due_at)
    return f"Access review #{campaign.pk}: {campaign.workflow}, due {due:%d %b %Y}"


def queue_review_reminder(campaign, *, stage, repeat, subject, body, url):
    """Called in the reminder's transaction: the campaign's first reminder opens its ticket,
    each later one is a comment. Returns the outbox row, or None without a remote queue."""
    queue = remote_queue(campaign.workflow.queue)
    if queue is None:
        return None
    opened = (
        OutboxMessage.objects.filter(idempotency_key=FLOW.open_key(campaign.pk, queue.pk)).exists()
        or TicketLink.objects.filter(campaign=campaign, connection=queue).exists()
    )
    if not opened:
        # The link to the campaign page is the ticket's own link, not a line of its text.
        message = "\n".join(line for line in body.splitlines() if url not in line).strip()
        return FLOW.queue_open(campaign, queue, title=review_title(campaign), message=message, url=url)
    return FLOW.queue_to(COMMENT, campaign, queue.pk, event=f"{stage}:{repeat}", text=f"{subject}\n\n{body}")


def queue_review_close(campaign):
    """Called in the closing transaction: close the campaign's tickets, with its summary."""
    who = f" (last decision by {campaign.closed_by.label})" if campaign.closed_by_id else ""
    text = f"Mandate: the access review of {campaign.workflow} is complete{who}. {campaign.close_note}".strip()
    FLOW.queue_everywhere(CLOSE, campaign, comment=text)


def _content(campaign, payload):
    """The ticket's text was written with the first reminder; the campaign adds its tag."""
    return ReviewTicketContent(
        campaign_id=campaign.pk,
        title=payload["title"],
        message=payload["message"],
        url=payload["url"],
        campaign_key=tag_key(campaign.opened_at),
    )


@handler(OPEN, on_failure=FLOW.record_open_failure)
def deliver_review_open(payload):
    # A campaign completed before the queue was reached leaves nothing to chase.
    FLOW.deliver_open(
        payload,
        ReviewCampaign.objects.all(),
        waiting=lambda campaign: campaign.is_open,
        content=lambda campaign: _content(campaign, payload),
    )


handler(COMMENT)(FLOW.deliver_comment)
handler(CLOSE)(FLOW.deliver_close)
