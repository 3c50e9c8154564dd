"""State changes of webhook subscriptions: create, change, rotate the secret, replay.

A new secret is returned once, to be shown once; only its sealed form is stored.
"""

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals.queues.outbox import enqueue
from governance.choices import DeliveryStatus, WebhookEvent
from governance.exceptions import IllegalTransition, InvalidInput
from governance.outbound.delivery import DELIVER
from governance.outbound.models import WEBHOOK_SECRET, WebhookDelivery, WebhookSubscription
from governance.outbound.signing import new_secret
from governance.secret_box import seal

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _check(name, url, event_types):
    errors = {}
    parts = urlsplit(url or "")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        errors["url"] = ["A full address, like https://siem.example.com/hooks/mandate."]
    elif parts.scheme == "http" and parts.hostname not in LOOPBACK:
        errors["url"] = ["Use HTTPS: events name people and access (plain HTTP only to this machine)."]
    elif parts.username or parts.password:
        errors["url"] = ["No user name or password in the address: the signature authenticates Mandate."]
    unknown = sorted(set(event_types or []) - set(WebhookEvent.values))
    if not event_types:
        errors["event_types"] = ["Choose at least one event."]
    elif unknown:
        errors["event_types"] = [f"Unknown events: {', '.join(unknown)}."]
    if not (name or "").strip():
        errors["name"] = ["Give the subscription a name."]
    if errors:
        raise InvalidInput("The subscription is not valid.", field_errors=errors)


def create_subscription(*, name, url, event_types, by=None):
    """Returns (subscription, secret): show the secret once, Mandate keeps it sealed."""
    _check(name, url, event_types)
    secret = new_secret()
    with transaction.atomic():
        if WebhookSubscription.objects.filter(name=name.strip()).exists():
            raise InvalidInput("The name is taken.", field_errors={"name": ["Another subscription has this name."]})
        subscription = WebhookSubscription.objects.create(
            name=name.strip(),
            url=url,
            event_types=sorted(set(event_types)),
            secret_sealed=seal(secret, purpose=WEBHOOK_SECRET),
            created_by=by,
        )
    return subscription, secret


def update_subscription(subscription, *, url, event_types, enabled):
    _check(subscription.name, url, event_types)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.url, subscription.event_types, subscription.enabled = url, sorted(set(event_types)), enabled
        subscription.save(update_fields=["url", "event_types", "enabled", "updated_at"])
    return subscription


def rotate_secret(subscription, *, now=None):
    """A new secret signs from now on; the previous one also signs for the grace period
    (WEBHOOK_SECRET_ROTATION_GRACE_SECONDS), so the receiver can switch without a gap.
    Returns (subscription, new secret)."""
    now = now or timezone.now()
    secret = new_secret()
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.previous_secret_sealed = subscription.secret_sealed
        subscription.previous_secret_until = now + timedelta(seconds=settings.WEBHOOK_SECRET_ROTATION_GRACE_SECONDS)
        subscription.secret_sealed = seal(secret, purpose=WEBHOOK_SECRET)
        subscription.save(
            update_fields=["secret_sealed", "previous_secret_sealed", "previous_secret_until", "updated_at"]
        )
    return subscription, secret


def replay_delivery(delivery):
    """Send a delivery again, with the same `webhook-id` (receivers that saw it drop it)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("subscription").get(pk=delivery.pk)
        if not delivery.subscription.enabled:
            raise IllegalTransition("The subscription is disabled; enable it before replaying.")
        delivery.replays += 1
        delivery.status = DeliveryStatus.PENDING
        delivery.delivered_at = None
        delivery.save(update_fields=["replays", "status", "delivered_at"])
        enqueue(DELIVER, {"delivery_id": delivery.pk}, key=f"{DELIVER}:{delivery.message_id}:replay:{delivery.replays}")
    return delivery
