"""Lifecycle events → one webhook delivery per subscriber, in the same transaction.

Connected in `GovernanceConfig.ready`. A payload names things and links to them; it never
carries a secret (no token, key or credential) nor an evidence payload, and no free text
a person typed (justifications, comments): a receiver that needs more follows the link
with its own API key.
"""

import hashlib

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone

from approvals import signals as access
from approvals.models import Grant
from approvals.queues.outbox import enqueue, enqueue_many
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


def _subscribers(event_type):
    return [s for s in WebhookSubscription.objects.filter(enabled=True) if event_type in (s.event_types or [])]


def occurrence_message_id(subscription, event_type, occurrence):
    """The `webhook-id` of one event that happens once (a grant ends once), for one subscriber:
    derived from what happened, so writing it again (a retried batch, the ETA task after the
    sweeper) finds the delivery there and sends nothing twice."""
    digest = hashlib.sha256(f"{subscription.pk}:{event_type}:{occurrence}".encode()).hexdigest()
    return "msg_" + digest[:32]


def _delivery_key(message_id):
    return f"{DELIVER}:{message_id}"


def emit(event_type, data, *, occurrence=None):
    """Write one delivery (and its outbox row) for each enabled subscriber of `event_type`.

    With `occurrence` (what makes the event unique, e.g. "grant:42") the delivery's message
    id, and so its outbox key, is derived from it: the same event emitted twice is one
    delivery. Without, every call is a new event."""
    subscribers = _subscribers(event_type)
    now = timezone.now()
    for subscription in subscribers:
        payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
        fields = {"subscription": subscription, "event_type": event_type, "payload": payload}
        if occurrence is None:
            message_id = new_message_id()
            delivery, created = WebhookDelivery.objects.create(message_id=message_id, **fields), True
        else:
            message_id = occurrence_message_id(subscription, event_type, occurrence)
            delivery, created = WebhookDelivery.objects.get_or_create(message_id=message_id, defaults=fields)
        if created:
            enqueue(DELIVER, {"delivery_id": delivery.pk}, key=_delivery_key(message_id))
    return len(subscribers)


def emit_many(event_type, events, subscribers=None):
    """`emit` with an `occurrence` for many events at once: [(data, occurrence)].

    The deliveries of every event and subscriber in one insert, their outbox rows in one
    more (`enqueue_many`), under the message ids and keys `emit` gives each alone, so an
    event already emitted either way is skipped."""
    subscribers = _subscribers(event_type) if subscribers is None else subscribers
    if not subscribers or not events:
        return 0
    now = timezone.now()
    deliveries = {}
    for data, occurrence in events:
        payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
        for subscription in subscribers:
            message_id = occurrence_message_id(subscription, event_type, occurrence)
            deliveries[message_id] = WebhookDelivery(
                subscription=subscription, message_id=message_id, event_type=event_type, payload=payload
            )
    existing = set(WebhookDelivery.objects.filter(message_id__in=list(deliveries)).values_list("message_id", flat=True))
    fresh = [delivery for message_id, delivery in deliveries.items() if message_id not in existing]
    WebhookDelivery.objects.bulk_create(fresh, ignore_conflicts=True)
    written = WebhookDelivery.objects.filter(message_id__in=[d.message_id for d in fresh]).values_list(
        "pk", "message_id"
    )
    enqueue_many(DELIVER, [({"delivery_id": pk}, _delivery_key(message_id)) for pk, message_id in written])
    return len(fresh)


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
    # A grant ends once: one delivery per subscriber, whichever path ends it.
    emit(WebhookEvent.GRANT_ENDED, grant_data(grant), occurrence=f"grant:{grant.pk}")


@receiver(access.grants_expired, dispatch_uid="webhooks.grants_expired")
def on_grants_expired(sender, grants, **kwargs):
    """The sweeper's batch: the `grant.ended` of each grant, as `on_grant_ended` sends it, in bulk."""
    subscribers = _subscribers(WebhookEvent.GRANT_ENDED)
    if not subscribers or not grants:
        return  # the common case: nobody subscribed, nothing read
    ended = (
        Grant.objects.filter(pk__in=[grant.pk for grant in grants])
        .select_related("workflow", "entitlement", "workload", "on_behalf_of", "requested_by")
        .order_by("pk")
    )
    emit_many(WebhookEvent.GRANT_ENDED, [(grant_data(g), f"grant:{g.pk}") for g in ended], subscribers)


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
