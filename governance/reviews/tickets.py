"""Access reviews in the workflow's ticket queue: a campaign's reminders as one ticket.

Owners work where they already work: the first reminder of a campaign opens a review
ticket in the workflow's queue, each later reminder becomes a comment on it, and the
campaign's completion closes it. Everything travels through the outbox, written by the
reminders (`reminders.hand_to_ticket_queue`) and the campaign's closing inside the
reviews' own transactions. Nothing is read back from the ticket: a review is decided in Mandate, item
by item, by the people the review services allow.
"""

from django.utils import timezone

from approvals.models import OutboxMessage, QueueConnection, TicketLink
from approvals.queues.connections import (
    call_adapter,
    connections_holding,
    link_or_wait,
    record_connection_result,
    record_link,
    tag_key,
)
from approvals.queues.outbox import enqueue, handler
from approvals.tickets import ReviewTicketContent, TicketError
from governance.models import ReviewCampaign

OPEN, COMMENT, CLOSE = "review_ticket.open", "review_ticket.comment", "review_ticket.close"


def _queue_of(campaign):
    queue = campaign.workflow.queue
    if queue is None or not queue.enabled or not queue.adapter().remote:
        return None
    return queue


def review_title(campaign):
    due = timezone.localdate(campaign.due_at)
    return f"Access review #{campaign.pk}: {campaign.workflow}, due {due:%d %b %Y}"


def queue_review_reminder(campaign, *, stage, repeat, subject, body, url):
    """Called in the reminder's transaction: the campaign's first reminder opens its ticket,
    each later one is a comment. Returns the outbox row, or None without a remote queue."""
    queue = _queue_of(campaign)
    if queue is None:
        return None
    open_key = f"{OPEN}:{campaign.pk}:{queue.pk}"
    target = {"campaign_id": campaign.pk, "connection_id": queue.pk}
    opened = (
        OutboxMessage.objects.filter(idempotency_key=open_key).exists()
        or TicketLink.objects.filter(campaign=campaign, connection=queue).exists()
    )
    if not opened:
        # The link to the campaign page is the ticket's own link, not a line of its text.
        message = "\n".join(line for line in body.splitlines() if url not in line).strip()
        payload = {**target, "title": review_title(campaign), "message": message, "url": url}
        return enqueue(OPEN, payload, key=open_key)
    return enqueue(
        COMMENT, {**target, "text": f"{subject}\n\n{body}"}, key=f"{COMMENT}:{campaign.pk}:{queue.pk}:{stage}:{repeat}"
    )


def queue_review_close(campaign):
    """Called in the closing transaction: close the campaign's tickets, with its summary."""
    who = f" (last decision by {campaign.closed_by.label})" if campaign.closed_by_id else ""
    text = f"Mandate: the access review of {campaign.workflow} is complete{who}. {campaign.close_note}".strip()
    for connection_id in connections_holding(campaign.ticket_links.all(), f"{OPEN}:{campaign.pk}:"):
        enqueue(
            CLOSE,
            {"campaign_id": campaign.pk, "connection_id": connection_id, "comment": text},
            key=f"{CLOSE}:{campaign.pk}:{connection_id}",
        )


def _record_open_failure(payload, error):
    record_connection_result(
        payload.get("connection_id"),
        error=f"Opening the ticket of access review #{payload.get('campaign_id')} failed: {error}",
    )


@handler(OPEN, on_failure=_record_open_failure)
def deliver_review_open(payload):
    campaign = ReviewCampaign.objects.filter(pk=payload["campaign_id"]).first()
    connection = QueueConnection.objects.filter(pk=payload["connection_id"]).first()
    if campaign is None or connection is None:
        return
    if TicketLink.objects.filter(campaign=campaign, connection=connection).exists():
        return
    if not campaign.is_open:
        return  # completed before the queue was reached: nothing left to chase
    if not connection.enabled:
        raise TicketError(f"The queue “{connection.name}” is disabled.", permanent=True)
    content = ReviewTicketContent(
        campaign_id=campaign.pk,
        title=payload["title"],
        message=payload["message"],
        url=payload["url"],
        campaign_key=tag_key(campaign.opened_at),
    )
    ref = call_adapter(connection, lambda adapter: adapter.open_ticket(content))
    record_link(connection, ref, campaign=campaign)


def _link_for(payload):
    campaign_id, connection_id = payload["campaign_id"], payload["connection_id"]
    return link_or_wait(connection_id, f"{OPEN}:{campaign_id}:{connection_id}", campaign_id=campaign_id)


@handler(COMMENT)
def deliver_review_comment(payload):
    link = _link_for(payload)
    if link is not None and link.closed_at is None:
        call_adapter(link.connection, lambda adapter: adapter.add_comment(link.external_key, payload["text"]))


@handler(CLOSE)
def deliver_review_close(payload):
    link = _link_for(payload)
    if link is None:
        return
    call_adapter(
        link.connection,
        lambda adapter: adapter.close_ticket(link.external_key, outcome="approved", comment=payload["comment"]),
    )
    TicketLink.objects.filter(pk=link.pk, closed_at__isnull=True).update(closed_at=timezone.now())
