"""The workflow registry: AI-assisted workflows, what can be granted in them, and how."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from governance.choices import AccessLevel, ApprovalMode, MissedReviewAction, RiskTier, Sensitivity, WorkflowStatus


class Workflow(models.Model):
    """An AI-assisted business process with a named control owner and a review cycle."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=100, unique=True)
    business_process = models.CharField(max_length=200, help_text="The business process this workflow serves.")
    description = models.TextField(blank=True)
    control_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="controlled_workflows",
        help_text="Accountable person. Empty only when the owner left and nobody took over (unowned).",
    )
    backup_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="backup_workflows",
    )
    identity_source = models.ForeignKey(
        "identities.IdentitySource",
        on_delete=models.PROTECT,
        related_name="workflows",
        help_text="The one authoritative source for this workflow's owners and workloads.",
    )
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices, default=RiskTier.MEDIUM)
    review_cycle_days = models.PositiveSmallIntegerField(default=90, help_text="Days between access reviews (1–366).")
    review_grace_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days after a missed review before new requests are refused."
    )
    next_review_due = models.DateTimeField(null=True, blank=True)
    missed_review_action = models.CharField(
        max_length=10,
        choices=MissedReviewAction.choices,
        default=MissedReviewAction.REVOKE,
        help_text="What happens when an access review is not finished by its due date.",
    )
    status = models.CharField(max_length=10, choices=WorkflowStatus.choices, default=WorkflowStatus.DRAFT)
    queue = models.ForeignKey(
        "approvals.QueueConnection",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workflows",
        help_text="The ticket queue its approvals travel through; empty means Mandate's own inbox.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_cycle_days__gte=1, review_cycle_days__lte=366),
                name="workflow_review_cycle_1_366",
            ),
            models.CheckConstraint(
                condition=Q(control_owner__isnull=False) | ~Q(status="active"),
                name="workflow_active_has_owner",
            ),
            models.CheckConstraint(
                condition=Q(backup_owner__isnull=True)
                | Q(control_owner__isnull=True)
                | ~Q(backup_owner=models.F("control_owner")),
                name="workflow_backup_differs_from_owner",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("governance:workflow_detail", args=[self.slug])

    def clean(self):
        errors = {}
        if self.control_owner_id is None and self.status == WorkflowStatus.ACTIVE:
            errors["control_owner"] = "An active workflow needs a control owner."
        if self.control_owner_id and not self.control_owner.is_active:
            errors["control_owner"] = "The control owner must be an active person."
        if self.backup_owner_id and not self.backup_owner.is_active:
            errors["backup_owner"] = "The backup owner must be an active person."
        if self.backup_owner_id and self.backup_owner_id == self.control_owner_id:
            errors["backup_owner"] = "The backup owner must be someone other than the control owner."
        if self.review_cycle_days is not None and not 1 <= self.review_cycle_days <= 366:
            errors["review_cycle_days"] = "The review cycle must be between 1 and 366 days."
        if errors:
            raise ValidationError(errors)

    @property
    def owners(self):
        """The people who may decide for this workflow, control owner first."""
        return [u for u in (self.control_owner, self.backup_owner) if u is not None and u.is_active]


class Entitlement(models.Model):
    """One grantable scope on one target system, e.g. `github:repo:write`."""

    target_system = models.CharField(max_length=100, help_text="e.g. github, jira, finance-warehouse")
    scope = models.CharField(max_length=200, unique=True, help_text="e.g. github:repo:write")
    name = models.CharField(max_length=150, blank=True)
    description = models.TextField(blank=True)
    access_level = models.CharField(max_length=10, choices=AccessLevel.choices, default=AccessLevel.READ)
    sensitivity = models.CharField(max_length=20, choices=Sensitivity.choices, default=Sensitivity.INTERNAL)
    max_lifetime_seconds = models.PositiveIntegerField(
        default=3600, help_text="Longest lifetime any grant of this entitlement may have, in seconds."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope"]
        constraints = [
            models.CheckConstraint(condition=Q(max_lifetime_seconds__gt=0), name="entitlement_max_lifetime_positive"),
        ]

    def __str__(self):
        return self.scope

    def clean(self):
        if self.scope and self.target_system and not self.scope.startswith(f"{self.target_system}:"):
            raise ValidationError({"scope": f"The scope must start with the target system, “{self.target_system}:”."})


class Policy(models.Model):
    """How requests for one entitlement in one workflow are decided.

    The existence of a policy is what makes an entitlement part of a workflow.
    """

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="policies")
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="policies")
    approval_mode = models.CharField(max_length=12, choices=ApprovalMode.choices, default=ApprovalMode.DEFAULT)
    max_ttl_seconds = models.PositiveIntegerField(
        default=3600, help_text="Longest grant this policy allows, in seconds (never above the entitlement's maximum)."
    )
    pending_ttl_seconds = models.PositiveIntegerField(
        default=24 * 3600, help_text="A request left undecided this long times out."
    )
    reminder_interval_seconds = models.PositiveIntegerField(
        default=4 * 3600, help_text="Remind approvers when a request has waited this long."
    )
    task_ref_required = models.BooleanField(default=True)
    justification_required = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow__name", "entitlement__scope"]
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["workflow", "entitlement"], name="policy_unique_workflow_entitlement"),
            models.CheckConstraint(condition=Q(max_ttl_seconds__gt=0), name="policy_max_ttl_positive"),
            models.CheckConstraint(condition=Q(pending_ttl_seconds__gt=0), name="policy_pending_ttl_positive"),
        ]

    def __str__(self):
        return f"{self.workflow} · {self.entitlement}"

    def clean(self):
        if (
            self.entitlement_id
            and self.max_ttl_seconds
            and self.max_ttl_seconds > self.entitlement.max_lifetime_seconds
        ):
            raise ValidationError(
                {
                    "max_ttl_seconds": (
                        f"The maximum TTL cannot exceed the entitlement's maximum lifetime "
                        f"({self.entitlement.max_lifetime_seconds} s)."
                    )
                }
            )


class Heartbeat(models.Model):
    """Last time a named periodic job ran through the broker; read by /healthz."""

    name = models.CharField(max_length=50, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
