"""Lifecycle events → outbox rows for the ticket of a request or a registry change, in the
same transaction.

Connected in `ApprovalsConfig.ready`. Nothing here talks to a ticket system: the relay
delivers the rows after commit, so a rolled-back decision never reaches a ticket and a
committed one always does.
"""

from django.dispatch import receiver
from django.utils import formats, timezone

from approvals import signals
from approvals.queues.batches import queue_ticket_closes
from approvals.queues.change_tickets import queue_change_close, queue_change_open
from approvals.queues.request_tickets import queue_ticket_close, queue_ticket_comment, queue_ticket_open
from governance.changes.signals import registry_change_decided, registry_change_proposed


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


@receiver(registry_change_proposed, dispatch_uid="tickets.registry_change_proposed")
def open_ticket_for_registry_change(sender, change, **kwargs):
    queue_change_open(change)


@receiver(registry_change_decided, dispatch_uid="tickets.registry_change_decided")
def close_ticket_of_decided_registry_change(sender, change, **kwargs):
    queue_change_close(change)
