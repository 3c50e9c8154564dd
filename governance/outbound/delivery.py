"""Sending one webhook delivery: the outbox handler, retried with backoff until the
receiver answers 2xx (at least once). Each attempt is signed afresh with the secrets valid
at that moment; the `webhook-id` stays the same, so a receiver can drop a repeat.

Every attempt is recorded on the delivery (status code, error, time) for the delivery
log; a receiver's answer body is never stored (it may echo anything).
"""

import json
import time

import requests
from django.utils import timezone

from approvals.queues.outbox import handler
from approvals.tickets import TicketError
from governance.choices import DeliveryStatus
from governance.outbound.models import WebhookDelivery
from governance.outbound.signing import headers as signed_headers

DELIVER = "webhook.deliver"
TIMEOUT = (5, 15)


def body_of(delivery):
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def _attempted(delivery, **fields):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(last_attempt_at=timezone.now(), **fields)


def _failed(payload, error):
    WebhookDelivery.objects.filter(pk=payload.get("delivery_id")).exclude(status=DeliveryStatus.DELIVERED).update(
        status=DeliveryStatus.FAILED
    )


@handler(DELIVER, on_failure=_failed)
def deliver(payload):
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=payload["delivery_id"]).first()
    if delivery is None:
        return
    subscription = delivery.subscription
    if not subscription.enabled:
        raise TicketError(f"The subscription “{subscription}” is disabled.", permanent=True)
    body = body_of(delivery)
    now = timezone.now()
    sent = signed_headers(
        subscription.signing_secrets(now), message_id=delivery.message_id, timestamp=time.time(), body=body
    )
    attempts = delivery.attempts + 1
    try:
        response = requests.post(
            subscription.url,
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": "Mandate-Webhooks/1", **sent},
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        error = f"No answer: {type(exc).__name__}."
        _attempted(delivery, attempts=attempts, last_status_code=None, last_error=error)
        raise TicketError(f"Webhook {subscription}: {error}", permanent=False)
    if 200 <= response.status_code < 300:
        _attempted(
            delivery, attempts=attempts, last_status_code=response.status_code, last_error="",
            status=DeliveryStatus.DELIVERED, delivered_at=timezone.now(),
        )  # fmt: skip
        return
    error = f"The receiver answered {response.status_code}."
    _attempted(delivery, attempts=attempts, last_status_code=response.status_code, last_error=error)
    # Every other answer is retried: the receiver may be mid-deploy or misconfigured for a while.
    raise TicketError(f"Webhook {subscription}: {error}", permanent=False)
