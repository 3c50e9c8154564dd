"""Access requests, the decisions on them, and the grants they produce."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from approvals.choices import Channel, Decision, GrantStatus, PolicyEffect, RequestState

# A request or grant has exactly one subject: a person, or a workload acting for a person.
ONE_SUBJECT = Q(requested_by__isnull=False, workload__isnull=True) | Q(
    requested_by__isnull=True, workload__isnull=False, on_behalf_of__isnull=False
)


class AccessRequest(models.Model):
    """Who wants which entitlement in which workflow, for which task, for how long, and why.

    The policy evaluation (effect, mode, reasons, eligible approvers) and the policy as it
    stood are snapshotted onto the request, so editing a policy never changes a request in
    flight.
    """

    workflow = models.ForeignKey("governance.Workflow", on_delete=models.PROTECT, related_name="access_requests")
    entitlement = models.ForeignKey("governance.Entitlement", on_delete=models.PROTECT, related_name="access_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_requests",
        help_text="The person asking, when a person asks.",
    )
    workload = models.ForeignKey(
        "identities.WorkloadIdentity",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="access_requests",
        help_text="The workload asking, when a workload asks.",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delegated_requests",
        help_text="The person a workload acts for.",
    )
    task_ref = models.CharField(max_length=200, blank=True, help_text="Run, ticket or job id this access is for.")
    justification = models.TextField(blank=True)
    duration_seconds = models.PositiveIntegerField()
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Optional future start.")
    extends = models.ForeignKey(
        "approvals.Grant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="extension_requests",
        help_text="Set when this request asks to extend an existing grant rather than create one.",
    )
    state = models.CharField(max_length=12, choices=RequestState.choices, default=RequestState.PENDING)
    effect = models.CharField(max_length=16, choices=PolicyEffect.choices)
    approval_mode = models.CharField(max_length=12, blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=0)
    decision_reasons = models.JSONField(default=list, blank=True)
    eligible_approver_ids = models.JSONField(default=list, blank=True)
    policy_snapshot = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    pending_until = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    state_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=ONE_SUBJECT, name="accessrequest_one_subject"),
            models.CheckConstraint(condition=Q(duration_seconds__gt=0), name="accessrequest_duration_positive"),
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~Q(idempotency_key="") & Q(requested_by__isnull=False),
                name="accessrequest_idem_per_user",
            ),
            models.UniqueConstraint(
                fields=["workload", "idempotency_key"],
                condition=~Q(idempotency_key="") & Q(workload__isnull=False),
                name="accessrequest_idem_per_workload",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "pending_until"], name="request_pending_idx"),
            models.Index(fields=["workflow", "state"], name="request_workflow_state_idx"),
        ]

    def __str__(self):
        return f"Request #{self.pk} · {self.subject_label} → {self.entitlement_id and self.entitlement.scope}"

    def get_absolute_url(self):
        return reverse("approvals:request_detail", args=[self.pk])

    @property
    def subject_label(self):
        if self.workload_id:
            return f"{self.workload} for {self.on_behalf_of}"
        return str(self.requested_by)

    @property
    def initiator(self):
        """The person accountable for the request: the requester, or whom the workload acts for."""
        return self.requested_by if self.requested_by_id else self.on_behalf_of


class Approval(models.Model):
    """One decision on a request, by one person, through one channel."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="approval_one_vote_per_approver"),
        ]

    def __str__(self):
        return f"{self.get_decision_display()} by {self.approver} on #{self.request_id}"


class Grant(models.Model):
    """Access that exists (or existed): kept forever so the whole chain stays reviewable."""

    request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    workflow = models.ForeignKey("governance.Workflow", on_delete=models.PROTECT, related_name="grants")
    entitlement = models.ForeignKey("governance.Entitlement", on_delete=models.PROTECT, related_name="grants")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="grants"
    )
    workload = models.ForeignKey(
        "identities.WorkloadIdentity", on_delete=models.PROTECT, null=True, blank=True, related_name="grants"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="delegated_grants"
    )
    task_ref = models.CharField(max_length=200, blank=True)
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=GrantStatus.choices, default=GrantStatus.ACTIVE)
    token_id = models.CharField(max_length=64, blank=True, help_text="jti of the grant's signed token, if any.")
    extension_count = models.PositiveSmallIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="revoked_grants"
    )
    end_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=ONE_SUBJECT, name="grant_one_subject"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("starts_at")), name="grant_expires_after_start"),
        ]
        indexes = [
            # The sweeper's batch: active grants ordered by expiry (partial, stays small).
            models.Index(fields=["expires_at"], condition=Q(status="active"), name="grant_active_expiry_idx"),
            # The authorization check: active grants of one subject in one workflow.
            models.Index(
                fields=["workload", "workflow"], condition=Q(status="active"), name="grant_active_workload_idx"
            ),
            models.Index(
                fields=["requested_by", "workflow"], condition=Q(status="active"), name="grant_active_user_idx"
            ),
            models.Index(fields=["workflow", "task_ref"], name="grant_task_idx"),
        ]

    def __str__(self):
        return f"Grant #{self.pk} · {self.entitlement_id and self.entitlement.scope}"

    def get_absolute_url(self):
        return reverse("approvals:grant_detail", args=[self.pk])

    @property
    def subject_label(self):
        if self.workload_id:
            return f"{self.workload} for {self.on_behalf_of}"
        return str(self.requested_by)


class SigningKey(models.Model):
    """An ES256 key pair that signs grant tokens.

    The private key is stored encrypted (Fernet, key derived from SIGNING_KEY_SECRET or
    SECRET_KEY), never in clear. After rotation a key stops signing but stays in the JWKS
    until every token it signed has expired.
    """

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=10, default="ES256")
    public_key_pem = models.TextField()
    private_key_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="No longer signs new tokens.")
    verify_until = models.DateTimeField(null=True, blank=True, help_text="Published for verification until then.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.kid
