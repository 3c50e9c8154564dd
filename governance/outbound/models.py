"""Webhook subscriptions and the log of what was sent to each.

Imported by `governance.models`, so these are ordinary models of the governance app.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from governance.choices import DeliveryStatus, WebhookEvent
from governance.secret_box import unseal

WEBHOOK_SECRET = "webhook-secret"


class WebhookSubscription(models.Model):
    """One receiver of governance events. Its signing secret is sealed; during a rotation
    the previous secret also signs, until `previous_secret_until`."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500, help_text="HTTPS address that receives the events (POST, JSON).")
    event_types = models.JSONField(default=list, help_text="The WebhookEvent values this subscriber receives.")
    secret_sealed = models.TextField(editable=False)
    previous_secret_sealed = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def signing_secrets(self, now):
        """The secrets that sign a delivery now: the current one, and the previous one while
        its grace period lasts (receivers accept either, so rotating never drops an event)."""
        secrets = [unseal(self.secret_sealed, purpose=WEBHOOK_SECRET)]
        if self.previous_secret_sealed and self.previous_secret_until and self.previous_secret_until > now:
            secrets.append(unseal(self.previous_secret_sealed, purpose=WEBHOOK_SECRET))
        return secrets


class WebhookDelivery(models.Model):
    """One event for one subscriber. `message_id` is the `webhook-id`: the same on every
    retry and replay, so a receiver can drop what it has seen (delivery is at least once)."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    replays = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscription", "-created_at"], name="webhookdelivery_log_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False), name="webhookdelivery_delivered_at"
            )
        ]

    def __str__(self):
        return f"{self.event_type} → {self.subscription} ({self.status})"
