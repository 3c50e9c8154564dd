"""Lifecycle events → one webhook delivery per subscriber, in the same transaction.

Connected in `GovernanceConfig.ready`. A payload names things and links to them; it never
carries a secret (no token, key or credential) nor an evidence payload, and no free text
a person typed (justifications, comments): a receiver that needs more follows the link
with its own API key.
"""

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone

from approvals import signals as access
from approvals.queues.outbox import enqueue
from governance.choices import WebhookEvent
from governance.findings.signals import finding_opened
from governance.outbound.delivery import DELIVER
from governance.outbound.models import WebhookDelivery, WebhookSubscription
from governance.outbound.signing import new_message_id
from governance.reviews.signals import campaign_opened, review_deadline_missed


def _url(obj):
    return f"{settings.SITE_URL}{obj.get_absolute_url()}"


def _stamp(moment):
    return moment.isoformat() if moment else None


def _workflow(workflow):
    return {"slug": workflow.slug, "name": workflow.name}


def _subject(obj):
    if obj.workload_id:
        return {"type": "workload", "slug": obj.workload.slug, "on_behalf_of": obj.on_behalf_of.username}
    return {"type": "person", "username": obj.requested_by.username}


def request_data(request):
    return {
        "id": request.pk,
        "url": _url(request),
        "state": request.state,
        "workflow": _workflow(request.workflow),
        "entitlement": request.entitlement.scope,
        "subject": _subject(request),
        "task_ref": request.task_ref,
        "duration_seconds": request.duration_seconds,
        "required_approvals": request.required_approvals,
        "created_at": _stamp(request.created_at),
        "decided_at": _stamp(request.decided_at),
    }


def grant_data(grant):
    return {
        "id": grant.pk,
        "url": _url(grant),
        "status": grant.status,
        "request_id": grant.request_id,
        "workflow": _workflow(grant.workflow),
        "entitlement": grant.entitlement.scope,
        "subject": _subject(grant),
        "task_ref": grant.task_ref,
        "starts_at": _stamp(grant.starts_at),
        "expires_at": _stamp(grant.expires_at),
        "ended_at": _stamp(grant.ended_at),
    }


def campaign_data(campaign):
    return {
        "id": campaign.pk,
        "url": _url(campaign),
        "workflow": _workflow(campaign.workflow),
        "status": campaign.status,
        "due_at": _stamp(campaign.due_at),
    }


def emit(event_type, data):
    """Write one delivery (and its outbox row) for each enabled subscriber of `event_type`."""
    subscribers = [s for s in WebhookSubscription.objects.filter(enabled=True) if event_type in (s.event_types or [])]
    now = timezone.now()
    for subscription in subscribers:
        message_id = new_message_id()
        payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
        delivery = WebhookDelivery.objects.create(
            subscription=subscription, message_id=message_id, event_type=event_type, payload=payload
        )
        enqueue(DELIVER, {"delivery_id": delivery.pk}, key=f"{DELIVER}:{message_id}")
    return len(subscribers)


@receiver(access.request_submitted, dispatch_uid="webhooks.request_submitted")
def on_request_submitted(sender, request, **kwargs):
    emit(WebhookEvent.REQUEST_SUBMITTED, request_data(request))


@receiver(access.request_decided, dispatch_uid="webhooks.request_decided")
def on_request_decided(sender, request, approval=None, final=False, **kwargs):
    decision = {"by": None, "decision": request.state, "channel": "policy"}
    if approval is not None:
        decision = {"by": approval.approver.username, "decision": approval.decision, "channel": approval.channel}
    emit(WebhookEvent.REQUEST_DECIDED, {**request_data(request), "decision": decision, "final": final})


@receiver(access.request_closed, dispatch_uid="webhooks.request_closed")
def on_request_closed(sender, request, **kwargs):
    if request.state == "denied":
        return  # a denial is a decision, sent by on_request_decided
    decision = {"by": None, "decision": request.state, "channel": "mandate"}
    emit(WebhookEvent.REQUEST_DECIDED, {**request_data(request), "decision": decision, "final": True})


@receiver(access.grant_issued, dispatch_uid="webhooks.grant_issued")
def on_grant_issued(sender, grant, **kwargs):
    emit(WebhookEvent.GRANT_ISSUED, grant_data(grant))


@receiver(access.grant_ended, dispatch_uid="webhooks.grant_ended")
def on_grant_ended(sender, grant, **kwargs):
    emit(WebhookEvent.GRANT_ENDED, grant_data(grant))


@receiver(access.workload_suspended, dispatch_uid="webhooks.workload_suspended")
def on_workload_suspended(sender, workload, by=None, **kwargs):
    data = {
        "slug": workload.slug,
        "name": workload.name,
        "url": _url(workload),
        "workflow": _workflow(workload.workflow),
        "by": getattr(by, "username", None),
    }
    emit(WebhookEvent.WORKLOAD_SUSPENDED, data)


@receiver(campaign_opened, dispatch_uid="webhooks.campaign_opened")
def on_review_opened(sender, campaign, **kwargs):
    emit(WebhookEvent.REVIEW_OPENED, campaign_data(campaign))


@receiver(review_deadline_missed, dispatch_uid="webhooks.review_deadline_missed")
def on_review_overdue(sender, campaign, action="", **kwargs):
    emit(WebhookEvent.REVIEW_OVERDUE, {**campaign_data(campaign), "action": str(action)})


@receiver(finding_opened, dispatch_uid="webhooks.finding_opened")
def on_finding_opened(sender, finding, **kwargs):
    data = {
        "id": finding.pk,
        "kind": finding.kind,
        "severity": finding.severity,
        "title": finding.title,
        "workflow": _workflow(finding.workflow) if finding.workflow_id else None,
        "subject_type": finding.subject_type,
        "subject_id": finding.subject_id,
        "first_seen_at": _stamp(finding.first_seen_at),
    }
    emit(WebhookEvent.FINDING_OPENED, data)
