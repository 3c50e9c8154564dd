"""Ticket queues: where approvals travel, each request's (review's, registry change's) ticket there, and the outbox.

Imported by `approvals.models`, so these are ordinary models of the approvals app.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from approvals.choices import QueueKind
from approvals.tickets import ConnectionConfig, TicketError, adapter_class, get_adapter, is_valid_reference

SECRET_REF_HELP = "Where the secret is, never the secret: env:VARIABLE_NAME or file:/run/secrets/name."


class QueueConnection(models.Model):
    """One configured ticket queue. Credentials are references (env var or file), never values."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=12, choices=QueueKind.choices)
    base_url = models.URLField(
        blank=True, help_text="e.g. https://rt.example.com, https://acme.atlassian.net, https://acme.service-now.com"
    )
    project = models.CharField(
        max_length=200,
        blank=True,
        help_text="RT queue, Jira project key, GitHub owner/repository, or ServiceNow table (default incident).",
    )
    ticket_type = models.CharField(
        max_length=100, blank=True, help_text="Jira issue type (default Task); RT ticket type; ServiceNow category."
    )
    status_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            'Statuses (or labels) that approve and deny, e.g. {"approve": ["resolved"], "deny": ["rejected"]}. '
            "Empty keys take the system's defaults."
        ),
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per-system extras, e.g. {"request_field": "MandateRequestId"} for RT or {"timeout": 10}.',
    )
    credential_ref = models.CharField(max_length=255, blank=True, help_text=SECRET_REF_HELP)
    webhook_secret_ref = models.CharField(
        max_length=255, blank=True, help_text=f"{SECRET_REF_HELP} Without one, webhooks are refused."
    )
    poll_interval_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(30)], help_text="How often open tickets are re-read."
    )
    enabled = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(poll_interval_seconds__gte=30), name="queue_poll_interval_min_30"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    def config(self) -> ConnectionConfig:
        return ConnectionConfig(
            kind=self.kind,
            name=self.name,
            base_url=self.base_url,
            project=self.project,
            ticket_type=self.ticket_type,
            status_mapping=dict(self.status_mapping or {}),
            credential_ref=self.credential_ref,
            webhook_secret_ref=self.webhook_secret_ref,
            options=dict(self.options or {}),
        )

    def adapter(self, **kwargs):
        return get_adapter(self.config(), **kwargs)

    @property
    def effective_mapping(self):
        return self.adapter().mapping

    def clean(self):
        errors = {}
        if "@" in urlsplit(self.base_url or "").netloc:
            # It would be stored, shown and copied into every ticket link in clear.
            errors["base_url"] = "No user name or password in the address: the credential reference holds it."
        for field in ("credential_ref", "webhook_secret_ref"):
            value = getattr(self, field)
            if value and not is_valid_reference(value):
                errors[field] = "Give a reference, not the secret: env:VARIABLE_NAME or file:/path/to/secret."
        if not isinstance(self.status_mapping, dict):
            errors["status_mapping"] = 'A JSON object, e.g. {"approve": ["resolved"], "deny": ["rejected"]}.'
        else:
            for key in ("approve", "deny"):
                value = self.status_mapping.get(key)
                if value is not None and not (
                    isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
                ):
                    errors["status_mapping"] = f"“{key}” must be a status name or a list of status names."
        if not isinstance(self.options, dict):
            errors["options"] = "A JSON object."
        try:
            cls = adapter_class(self.kind)
        except TicketError as exc:
            errors["kind"] = exc.message
        else:
            for name in cls.required_fields:
                if not getattr(self, name) and name not in errors:
                    errors[name] = f"{cls.label} needs this."
        if errors:
            raise ValidationError(errors)


class TicketLink(models.Model):
    """A ticket Mandate keeps in a queue: its key, where to open it, and what we last saw there.

    It belongs to exactly one of: an access request or a registry change (the ticket asks
    for a decision and is read back), or an access review campaign (the ticket chases the
    owner; nothing is read back).
    """

    request = models.ForeignKey(
        "approvals.AccessRequest", on_delete=models.CASCADE, null=True, blank=True, related_name="ticket_links"
    )
    campaign = models.ForeignKey(
        "governance.ReviewCampaign", on_delete=models.CASCADE, null=True, blank=True, related_name="ticket_links"
    )
    change = models.ForeignKey(
        "governance.RegistryChange", on_delete=models.CASCADE, null=True, blank=True, related_name="ticket_links"
    )
    connection = models.ForeignKey(QueueConnection, on_delete=models.PROTECT, related_name="ticket_links")
    external_key = models.CharField(max_length=100)
    url = models.URLField(max_length=500, blank=True)
    last_seen_status = models.CharField(max_length=100, blank=True)
    last_seen_marker = models.CharField(
        max_length=255, blank=True, help_text="Status, actor and change id last acted on: a repeat is a no-op."
    )
    last_checked_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set once the request is settled or the review complete."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(request__isnull=False, campaign__isnull=True, change__isnull=True)
                | Q(request__isnull=True, campaign__isnull=False, change__isnull=True)
                | Q(request__isnull=True, campaign__isnull=True, change__isnull=False),
                name="ticketlink_one_subject",
            ),
            models.UniqueConstraint(
                fields=["request", "connection"],
                condition=Q(request__isnull=False),
                name="ticketlink_one_per_request_queue",
            ),
            models.UniqueConstraint(
                fields=["campaign", "connection"],
                condition=Q(campaign__isnull=False),
                name="ticketlink_one_per_campaign_queue",
            ),
            models.UniqueConstraint(
                fields=["change", "connection"],
                condition=Q(change__isnull=False),
                name="ticketlink_one_per_change_queue",
            ),
            models.UniqueConstraint(fields=["connection", "external_key"], name="ticketlink_unique_key"),
        ]
        indexes = [
            models.Index(fields=["connection"], condition=Q(closed_at__isnull=True), name="ticketlink_open_idx"),
        ]

    def __str__(self):
        if self.request_id:
            what = f"request #{self.request_id}"
        elif self.change_id:
            what = f"registry change #{self.change_id}"
        else:
            what = f"review #{self.campaign_id}"
        return f"{self.connection.name} {self.external_key} → {what}"


class OutboxMessage(models.Model):
    """A side effect written in the same transaction as the state change that caused it.

    The relay delivers it after commit, retrying transient failures with exponential
    backoff; the idempotency key makes writing the same effect twice a no-op. A relay
    delivering a row holds its lease (`lease_until`); the lease's value is also the fencing
    token that lets only that delivery record the outcome.
    """

    topic = models.CharField(max_length=50)
    payload = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=200, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="Set while a relay delivers it; no other relay touches it until then."
    )
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True, help_text="Set when a permanent error stopped retries.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True, failed_at__isnull=True),
                name="outbox_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.topic} · {self.idempotency_key}"

    @property
    def state(self):
        if self.delivered_at:
            return "delivered"
        if self.failed_at:
            return "failed"
        if self.lease_until and self.lease_until > timezone.now():
            return "delivering"
        return "retrying" if self.attempts else "waiting"
