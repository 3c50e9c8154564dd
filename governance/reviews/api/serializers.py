"""Serializers of access reviews: campaigns with their progress, items, and decisions."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.choices import (
    REVIEW_OUTCOMES_BY_KIND,
    CampaignStatus,
    MissedReviewAction,
    ReviewOutcome,
)
from governance.models import ReviewCampaign, ReviewItem
from governance.reviews.services import CERTIFY, REVOKE, SUSPEND

DECISION_CHOICES = [
    (CERTIFY, "Keep it"),
    (REVOKE, "End it now (a workload identity is suspended)"),
    (SUSPEND, "Suspend the workload identity"),
]
# The decision word that gives each outcome, in the order they are offered.
DECISION_FOR_OUTCOME = {
    ReviewOutcome.CERTIFIED: CERTIFY,
    ReviewOutcome.REVOKED: REVOKE,
    ReviewOutcome.SUSPENDED: SUSPEND,
}
MAX_ID = 2**63 - 1


class ReviewItemSerializer(serializers.ModelSerializer):
    campaign = serializers.PrimaryKeyRelatedField(read_only=True)
    workflow = serializers.CharField(source="campaign.workflow.slug", read_only=True, help_text="Workflow slug.")
    grant = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="For a grant: its id.")
    workload = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="For a workload identity: its slug."
    )
    policy = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="For an auto-approving policy: its id."
    )
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="For the owner assignment: the owner."
    )
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Null when Mandate settled it."
    )
    decisions = serializers.SerializerMethodField(
        help_text="The decisions this item still accepts; empty once it is decided or its review is closed."
    )

    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "campaign",
            "workflow",
            "kind",
            "label",
            "grant",
            "workload",
            "policy",
            "owner",
            "outcome",
            "comment",
            "decided_by",
            "decided_at",
            "decisions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=DECISION_CHOICES)))
    def get_decisions(self, item):
        if not (item.is_pending and item.campaign.is_open):
            return []
        allowed = REVIEW_OUTCOMES_BY_KIND[item.kind]
        return [word for outcome, word in DECISION_FOR_OUTCOME.items() if outcome in allowed]


class ReviewProgressSerializer(serializers.Serializer):
    decided = serializers.IntegerField(help_text="Items with an outcome (including those that ended by themselves).")
    pending = serializers.IntegerField(help_text="Items still awaiting a decision.")
    total = serializers.IntegerField()


class ReviewCampaignSerializer(serializers.ModelSerializer):
    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    state = serializers.ChoiceField(source="status", choices=CampaignStatus.choices, read_only=True)
    overdue = serializers.SerializerMethodField(help_text="Open and past its due date.")
    progress = serializers.SerializerMethodField()
    missed_review_action = serializers.ChoiceField(
        source="workflow.missed_review_action",
        choices=MissedReviewAction.choices,
        read_only=True,
        help_text="What the workflow's setting does if the review is not finished by `due_at`.",
    )
    closed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who made the last decision."
    )
    deadline_action = serializers.SerializerMethodField(
        help_text="The consequence applied when the deadline passed; null while it has not."
    )

    class Meta:
        model = ReviewCampaign
        fields = [
            "id",
            "workflow",
            "state",
            "opened_at",
            "due_at",
            "overdue",
            "progress",
            "missed_review_action",
            "deadline_missed_at",
            "deadline_action",
            "suspended_workflow",
            "closed_at",
            "closed_by",
            "close_note",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=MissedReviewAction.choices, allow_null=True))
    def get_deadline_action(self, campaign):
        return campaign.deadline_action or None

    def get_overdue(self, campaign) -> bool:
        return campaign.is_overdue(timezone.now())

    @extend_schema_field(ReviewProgressSerializer)
    def get_progress(self, campaign):
        if hasattr(campaign, "items_total"):
            decided, total = campaign.items_decided, campaign.items_total
        else:
            decided, total = campaign.progress()
        return {"decided": decided, "pending": total - decided, "total": total}


class ReviewCampaignDetailSerializer(ReviewCampaignSerializer):
    items = ReviewItemSerializer(many=True, read_only=True)

    class Meta(ReviewCampaignSerializer.Meta):
        fields = [*ReviewCampaignSerializer.Meta.fields, "items"]
        read_only_fields = fields


class ReviewDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=DECISION_CHOICES,
        help_text="certify keeps it; revoke ends a grant at once, turns an auto-approving policy into owner "
        "approval, or suspends a workload identity; suspend applies to workload identities.",
    )
    comment = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default="", help_text="Why; required to revoke or suspend."
    )


class BulkReviewDecisionSerializer(ReviewDecisionSerializer):
    items = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=1000,
        help_text="Ids of this review's items; all are decided the same way, or none is.",
    )

    def validate_items(self, ids):
        campaign = self.context["campaign"]
        known = set(campaign.items.filter(pk__in=ids).values_list("pk", flat=True))
        strangers = sorted(set(ids) - known)
        if strangers:
            raise serializers.ValidationError(
                f"Not items of this review: {', '.join(str(pk) for pk in strangers[:20])}."
            )
        return ids
