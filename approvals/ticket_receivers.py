"""Domain events → outbox rows for the ticket queue, in the same transaction as the event.

Access requests (their ticket asks for a decision) and access reviews (their ticket
carries the reminders) alike.

Connected in `ApprovalsConfig.ready`. Nothing here talks to a ticket system: the relay
delivers the rows after commit, so a rolled-back decision never reaches a ticket and a
committed one always does.
"""

from django.dispatch import receiver
from django.utils import formats, timezone

from governance import signals as review_signals

from . import signals
from .review_tickets import queue_review_close, queue_review_reminder
from .ticket_batches import queue_ticket_closes
from .ticket_flow import queue_ticket_close, queue_ticket_comment, queue_ticket_open


def _when(moment):
    stamp = formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
    return f"{stamp} ({timezone.get_current_timezone_name()})"


@receiver(signals.request_submitted, dispatch_uid="tickets.request_submitted")
def open_ticket_for_pending_request(sender, request, **kwargs):
    queue_ticket_open(request)


@receiver(signals.request_closed, dispatch_uid="tickets.request_closed")
def close_ticket_of_settled_request(sender, request, reason="", **kwargs):
    state = request.get_state_display().lower()
    text = f"Mandate: the request is {state}." + (f" {reason}" if reason else "")
    queue_ticket_close(request, outcome="denied", comment=text, event=f"closed:{request.state}")


@receiver(signals.grant_issued, dispatch_uid="tickets.grant_issued")
def comment_grant_issued(sender, grant, **kwargs):
    queue_ticket_comment(
        grant.request,
        f"Mandate granted {grant.entitlement.scope} to {grant.subject_label} until {_when(grant.expires_at)}.",
        event=f"granted:{grant.pk}",
    )


@receiver(signals.grant_extended, dispatch_uid="tickets.grant_extended")
def comment_grant_extended(sender, grant, previous_expires_at=None, request=None, **kwargs):
    text = f"Mandate extended the grant of {grant.entitlement.scope} until {_when(grant.expires_at)}."
    queue_ticket_comment(grant.request, text, event=f"extended:{grant.pk}:{grant.expires_at.isoformat()}")
    if request is not None and request.pk != grant.request_id:
        queue_ticket_close(request, outcome="approved", comment=text, event="extended")


@receiver(signals.grant_ended, dispatch_uid="tickets.grant_ended")
def close_ticket_when_grant_ends(sender, grant, reason="", **kwargs):
    status = {"expired": "expired", "revoked": "been revoked"}.get(grant.status, grant.status)
    text = f"Mandate: the grant of {grant.entitlement.scope} has {status}." + (f" {reason}" if reason else "")
    queue_ticket_close(grant.request, outcome="approved", comment=text, event=f"grant-ended:{grant.pk}")


@receiver(signals.grants_expired, dispatch_uid="tickets.grants_expired")
def close_tickets_when_grants_expire(sender, grants, **kwargs):
    closes = []
    for grant in grants:
        text = f"Mandate: the grant of {grant.scope} has expired. {grant.reason}"
        closes.append((grant.request_id, text, f"grant-ended:{grant.pk}"))
    queue_ticket_closes(closes, outcome="approved")


@receiver(review_signals.review_reminder_due, dispatch_uid="tickets.review_reminder_due")
def put_review_reminder_in_the_queue(sender, campaign, stage, repeat, subject, body, url, **kwargs):
    queue_review_reminder(campaign, stage=stage, repeat=repeat, subject=subject, body=body, url=url)


@receiver(review_signals.campaign_closed, dispatch_uid="tickets.campaign_closed")
def close_review_ticket(sender, campaign, **kwargs):
    queue_review_close(campaign)
