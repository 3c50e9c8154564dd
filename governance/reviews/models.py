"""Periodic access reviews and the reminders that chase them.

Imported by `governance.models`; the state changes are in `governance.reviews` and
`governance.reviews.reminders`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from governance.choices import (
    REVIEW_DECIDED_OUTCOMES,
    CampaignStatus,
    DigestStatus,
    MissedReviewAction,
    ReminderChannel,
    ReminderStage,
    ReviewItemKind,
    ReviewOutcome,
)


def review_overdue(now):
    """The one definition of an overdue access review: open, and its due date has come.

    Every reader uses it: the reviews API filter, the review lists and the dashboard, the
    reminders' escalation and the deadline's consequence (through `ReviewCampaign.is_overdue`),
    the `mandate_review_items_overdue` gauge, the findings, the registry list and the
    alignment report (through `workflow_review_overdue`).
    """
    return Q(status=CampaignStatus.OPEN, due_at__lte=now)


def workflow_review_overdue(now):
    """Workflows whose access review is overdue: an open review past due, or a review that
    came due and has not opened yet (`next_review_due` passed)."""
    overdue = ReviewCampaign.objects.filter(review_overdue(now)).values("workflow_id")
    return Q(pk__in=overdue) | Q(next_review_due__lte=now)


class ReviewCampaign(models.Model):
    """One periodic access review of one workflow, due by `due_at`.

    Its items are what existed when it opened: the active grants, the workload identities,
    the policies that approve automatically, and the control-owner assignment. It
    completes when every item is decided; the next cycle is counted from `closed_at`.
    """

    workflow = models.ForeignKey("governance.Workflow", on_delete=models.PROTECT, related_name="review_campaigns")
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.OPEN)
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who made the last decision; empty when the campaign closed by itself.",
    )
    close_note = models.TextField(blank=True)
    deadline_missed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the missed-deadline consequence was applied."
    )
    deadline_action = models.CharField(
        max_length=10,
        choices=MissedReviewAction.choices,
        blank=True,
        help_text="The consequence applied at the deadline (the workflow's setting at that moment).",
    )
    suspended_workflow = models.BooleanField(
        default=False,
        help_text="The missed deadline suspended the workflow; it is reactivated when the review completes.",
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow"], condition=Q(status="open"), name="reviewcampaign_one_open_per_workflow"
            ),
            models.CheckConstraint(condition=Q(due_at__gt=models.F("opened_at")), name="reviewcampaign_due_after_open"),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="campaign_status_due_idx")]

    def __str__(self):
        return f"Review of {self.workflow} due {self.due_at:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("reviews:campaign_detail", args=[self.pk])

    @property
    def is_open(self):
        return self.status == CampaignStatus.OPEN

    def is_overdue(self, now):
        """`review_overdue` for one loaded campaign."""
        return self.is_open and now >= self.due_at

    def progress(self):
        """(decided, total) item counts, in one query."""
        counts = self.items.aggregate(
            total=models.Count("pk"), decided=models.Count("pk", filter=~Q(outcome=ReviewOutcome.PENDING))
        )
        return counts["decided"], counts["total"]


class ReviewItem(models.Model):
    """One thing under review in a campaign and what the reviewer decided about it."""

    campaign = models.ForeignKey(ReviewCampaign, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=10, choices=ReviewItemKind.choices)
    grant = models.ForeignKey(
        "approvals.Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="review_items"
    )
    workload = models.ForeignKey(
        "identities.WorkloadIdentity", on_delete=models.PROTECT, null=True, blank=True, related_name="review_items"
    )
    policy = models.ForeignKey(
        "governance.Policy", on_delete=models.SET_NULL, null=True, blank=True, related_name="review_items"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="For the control-owner assignment: the owner under review.",
    )
    label = models.CharField(max_length=300, help_text="What was reviewed, as it stood when the campaign opened.")
    outcome = models.CharField(max_length=10, choices=ReviewOutcome.choices, default=ReviewOutcome.PENDING)
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review_decisions",
        help_text="Empty when Mandate decided (a missed deadline or the item ended by itself).",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=ReviewItemKind.GRANT, grant__isnull=False)
                    | Q(kind=ReviewItemKind.WORKLOAD, workload__isnull=False)
                    | Q(kind=ReviewItemKind.POLICY)
                    | Q(kind=ReviewItemKind.OWNERSHIP)
                ),
                name="reviewitem_kind_has_subject",
            ),
            models.UniqueConstraint(
                fields=["campaign", "grant"], condition=Q(grant__isnull=False), name="reviewitem_one_per_grant"
            ),
            models.UniqueConstraint(
                fields=["campaign", "workload"],
                condition=Q(workload__isnull=False),
                name="reviewitem_one_per_workload",
            ),
            models.CheckConstraint(
                condition=Q(outcome=ReviewOutcome.PENDING, decided_at__isnull=True)
                | Q(outcome__in=sorted(REVIEW_DECIDED_OUTCOMES), decided_at__isnull=False),
                name="reviewitem_decided_has_time",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "outcome"], name="reviewitem_outcome_idx")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.label}"

    @property
    def is_pending(self):
        return self.outcome == ReviewOutcome.PENDING


class ReminderDigest(models.Model):
    """One e-mail to one address on one day: the unit of the one-message-a-day rule.

    The unique (address, day) row is claimed before anything is sent, so a retried or
    concurrent run can never send a second message the same day.
    """

    recipient_email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reminder_digests"
    )
    day = models.DateField(help_text="The local date (TIME_ZONE) this digest counts against.")
    status = models.CharField(max_length=10, choices=DigestStatus.choices, default=DigestStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day", "recipient_email"]
        constraints = [
            models.UniqueConstraint(fields=["recipient_email", "day"], name="reminderdigest_one_per_address_per_day"),
        ]
        indexes = [models.Index(fields=["status", "day"], name="digest_status_day_idx")]

    def __str__(self):
        return f"Reminders for {self.recipient_email} on {self.day}"


class ReminderLog(models.Model):
    """One reminder given: a campaign's stage, or a waiting request, to one recipient.

    A reminder is recorded once (unique per stage and recipient), so it is never given
    twice; e-mail reminders point at the digest that carried them, ticket-queue reminders
    have no recipient address.
    """

    channel = models.CharField(max_length=8, choices=ReminderChannel.choices, default=ReminderChannel.EMAIL)
    recipient_email = models.EmailField(blank=True)
    digest = models.ForeignKey(
        ReminderDigest, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    campaign = models.ForeignKey(
        ReviewCampaign, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    stage = models.CharField(max_length=10, choices=ReminderStage.choices, blank=True)
    repeat = models.PositiveSmallIntegerField(default=0, help_text="Overdue escalations repeat weekly: 0, 1, 2…")
    access_request = models.ForeignKey(
        "approvals.AccessRequest", on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(campaign__isnull=False, access_request__isnull=True)
                | Q(campaign__isnull=True, access_request__isnull=False),
                name="reminderlog_campaign_or_request",
            ),
            models.UniqueConstraint(
                fields=["campaign", "stage", "repeat", "channel", "recipient_email"],
                condition=Q(campaign__isnull=False),
                name="reminderlog_once_per_campaign_stage",
            ),
            models.UniqueConstraint(
                fields=["access_request", "channel", "recipient_email"],
                condition=Q(access_request__isnull=False),
                name="reminderlog_once_per_request",
            ),
        ]

    def __str__(self):
        what = f"{self.campaign} · {self.stage}" if self.campaign_id else f"request #{self.access_request_id}"
        return f"{what} → {self.recipient_email or self.get_channel_display()}"
