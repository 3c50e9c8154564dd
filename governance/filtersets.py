"""List filters for the workflow registry (django-filter), used by the API."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

from .choices import (
    AccessLevel,
    ApprovalMode,
    CampaignStatus,
    EvidenceKind,
    FindingKind,
    FindingSeverity,
    ReviewItemKind,
    ReviewOutcome,
    RiskTier,
    Sensitivity,
    WorkflowStatus,
)
from .models import Entitlement, EvidenceRecord, Finding, Policy, ReviewCampaign, ReviewItem, Workflow
from .reviews.models import review_overdue, workflow_review_overdue


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, handed to the database in UTC.

    PostgreSQL refuses offsets beyond ±15:59 that Python parses happily ("-23:12"): the
    value is converted here, and one that cannot be is a 400, not a database error.
    """

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return value
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("This time is out of range.", code="invalid")


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class SearchFilterMixin:
    """`?q=` searches `search_fields` case-insensitively."""

    search_fields = ()

    def search(self, queryset, name, value):
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)


class WorkflowFilterSet(SearchFilterMixin, django_filters.FilterSet):
    search_fields = ("name", "slug", "business_process", "description")

    q = django_filters.CharFilter(method="search", label="Search name, slug, business process and description")
    status = django_filters.MultipleChoiceFilter(choices=WorkflowStatus.choices)
    risk_tier = django_filters.MultipleChoiceFilter(choices=RiskTier.choices)
    control_owner = django_filters.CharFilter(field_name="control_owner__username", label="Control owner's username")
    backup_owner = django_filters.CharFilter(field_name="backup_owner__username", label="Backup owner's username")
    owner = django_filters.CharFilter(method="filter_owner", label="Control or backup owner's username")
    identity_source = django_filters.CharFilter(field_name="identity_source__slug", label="Identity source slug")
    review_overdue = django_filters.BooleanFilter(method="filter_review_overdue", label="Review past its due date")

    class Meta:
        model = Workflow
        fields = ["q", "status", "risk_tier", "control_owner", "backup_owner", "owner", "identity_source"]

    def filter_owner(self, queryset, name, value):
        return queryset.filter(Q(control_owner__username=value) | Q(backup_owner__username=value))

    def filter_review_overdue(self, queryset, name, value):
        overdue = Workflow.objects.filter(workflow_review_overdue(timezone.now())).values("pk")
        return queryset.filter(pk__in=overdue) if value else queryset.exclude(pk__in=overdue)


class EntitlementFilterSet(SearchFilterMixin, django_filters.FilterSet):
    search_fields = ("scope", "name", "target_system", "description")

    q = django_filters.CharFilter(method="search", label="Search scope, name, target system and description")
    scope = django_filters.CharFilter()
    target_system = django_filters.CharFilter()
    access_level = django_filters.MultipleChoiceFilter(choices=AccessLevel.choices)
    sensitivity = django_filters.MultipleChoiceFilter(choices=Sensitivity.choices)
    workflow = django_filters.CharFilter(
        field_name="policies__workflow__slug", distinct=True, label="Slug of a workflow with a policy for it"
    )

    class Meta:
        model = Entitlement
        fields = ["q", "scope", "target_system", "access_level", "sensitivity", "workflow"]


class PolicyFilterSet(django_filters.FilterSet):
    workflow = django_filters.CharFilter(field_name="workflow__slug", label="Workflow slug")
    entitlement = django_filters.CharFilter(field_name="entitlement__scope", label="Entitlement scope")
    approval_mode = django_filters.MultipleChoiceFilter(choices=ApprovalMode.choices)
    task_ref_required = django_filters.BooleanFilter()

    class Meta:
        model = Policy
        fields = ["workflow", "entitlement", "approval_mode", "task_ref_required"]


class ReviewCampaignFilterSet(django_filters.FilterSet):
    workflow = django_filters.CharFilter(field_name="workflow__slug", label="Workflow slug")
    state = django_filters.MultipleChoiceFilter(field_name="status", choices=CampaignStatus.choices)
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Open and past its due date")
    due_before = UtcIsoDateTimeFilter(field_name="due_at", lookup_expr="lt")
    due_after = UtcIsoDateTimeFilter(field_name="due_at", lookup_expr="gte")

    class Meta:
        model = ReviewCampaign
        fields = ["workflow", "state", "overdue"]

    def filter_overdue(self, queryset, name, value):
        overdue = review_overdue(timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class ReviewItemFilterSet(django_filters.FilterSet):
    campaign = django_filters.NumberFilter(
        field_name="campaign_id", min_value=1, max_value=2**63 - 1, label="Campaign id"
    )
    workflow = django_filters.CharFilter(field_name="campaign__workflow__slug", label="Workflow slug")
    kind = django_filters.MultipleChoiceFilter(choices=ReviewItemKind.choices)
    outcome = django_filters.MultipleChoiceFilter(choices=ReviewOutcome.choices)
    pending = django_filters.BooleanFilter(method="filter_pending", label="Still awaiting a decision")

    class Meta:
        model = ReviewItem
        fields = ["campaign", "workflow", "kind", "outcome", "pending"]

    def filter_pending(self, queryset, name, value):
        pending = Q(outcome=ReviewOutcome.PENDING)
        return queryset.filter(pending) if value else queryset.exclude(pending)


class EvidenceRecordFilterSet(django_filters.FilterSet):
    workflow = django_filters.CharFilter(field_name="workflow__slug", help_text="Workflow slug.")
    workload = django_filters.CharFilter(field_name="workload__slug", help_text="Workload slug.")
    kind = django_filters.ChoiceFilter(choices=EvidenceKind.choices)
    task_ref = django_filters.CharFilter()
    since = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", help_text="Occurred at or after.")
    until = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", help_text="Occurred before.")

    class Meta:
        model = EvidenceRecord
        fields = ["workflow", "workload", "kind", "task_ref", "since", "until"]


class FindingFilterSet(django_filters.FilterSet):
    workflow = django_filters.CharFilter(field_name="workflow__slug", help_text="Workflow slug.")
    kind = django_filters.ChoiceFilter(choices=FindingKind.choices)
    severity = django_filters.ChoiceFilter(choices=FindingSeverity.choices)
    resolved = django_filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", exclude=True, help_text="true: resolved ones; false: open ones."
    )
    subject_type = django_filters.CharFilter()
    subject_id = django_filters.CharFilter()

    class Meta:
        model = Finding
        fields = ["workflow", "kind", "severity", "resolved", "subject_type", "subject_id"]
