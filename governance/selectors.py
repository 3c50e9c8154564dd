"""Read-side queries of the workflow registry: list filters, health, review status."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals.models import AccessRequest, Grant
from identities.models import WorkloadIdentity

from . import permissions
from .reviews.models import workflow_review_overdue

# A review within this window shows as "due soon" on the dashboard and in the registry.
DUE_SOON = timedelta(days=14)


@dataclass(frozen=True)
class ReviewStatus:
    key: str  # not_scheduled / on_track / due_soon / overdue / in_grace
    label: str


def review_status(workflow, now=None):
    """Where the workflow stands in its review cycle.

    Overdue: the due date passed, requests still allowed during `review_grace_days`.
    Past grace: the grace period passed too, so new requests are refused.
    """
    now = now or timezone.now()
    due = workflow.next_review_due
    if due is None:
        return ReviewStatus("not_scheduled", "Not scheduled")
    if due > now + DUE_SOON:
        return ReviewStatus("on_track", "On track")
    if due > now:
        return ReviewStatus("due_soon", "Due soon")
    if due + timedelta(days=workflow.review_grace_days) > now:
        return ReviewStatus("overdue", "Overdue")
    return ReviewStatus("in_grace", "Overdue, past grace")


@dataclass(frozen=True)
class Health:
    """A workflow's governance health: who owns it and where its review stands."""

    owner_present: bool
    backup_present: bool
    review: ReviewStatus

    @property
    def problems(self):
        found = []
        if not self.owner_present:
            found.append("No active control owner")
        if not self.backup_present:
            found.append("No backup owner")
        if self.review.key in ("overdue", "in_grace"):
            found.append(f"Review {self.review.label.lower()}")
        return found

    @property
    def ok(self):
        return not self.problems


def workflow_health(workflow, now=None):
    """Needs control_owner and backup_owner loaded (select_related) to stay query-free."""
    owner = workflow.control_owner
    backup = workflow.backup_owner
    return Health(
        owner_present=bool(owner and owner.is_active),
        backup_present=bool(backup and backup.is_active),
        review=review_status(workflow, now),
    )


def _count(model_qs, **outer):
    subquery = model_qs.filter(**outer).order_by().values("workflow").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(subquery, output_field=IntegerField()), Value(0))


def with_counts(queryset):
    """Annotate workloads, active grants and pending requests without multiplying rows."""
    return queryset.annotate(
        workload_count=_count(WorkloadIdentity.objects.all(), workflow=OuterRef("pk")),
        active_grant_count=_count(Grant.objects.filter(status="active"), workflow=OuterRef("pk")),
        pending_count=_count(AccessRequest.objects.filter(state="pending"), workflow=OuterRef("pk")),
    )


def registry(user, *, q="", risk_tier="", status="", owner=None, overdue=False):
    """The registry list for a person, filtered. Owners match control or backup owner."""
    workflows = permissions.visible_workflows(user).select_related("control_owner", "backup_owner", "identity_source")
    if q:
        workflows = workflows.filter(
            Q(name__icontains=q) | Q(slug__icontains=q) | Q(business_process__icontains=q) | Q(description__icontains=q)
        )
    if risk_tier:
        workflows = workflows.filter(risk_tier=risk_tier)
    if status:
        workflows = workflows.filter(status=status)
    if owner is not None:
        workflows = workflows.filter(Q(control_owner=owner) | Q(backup_owner=owner))
    if overdue:
        workflows = workflows.filter(workflow_review_overdue(timezone.now()))
    return with_counts(workflows).order_by("name")


def dashboard_scope(user):
    """The workflows a person's dashboard covers: those they own, or every one for an
    auditor (whatever else she is), retired ones left out."""
    if permissions.is_auditor(user):
        workflows = permissions.visible_workflows(user)
    else:
        workflows = permissions.managed_workflows(user)
    return workflows.exclude(status="retired").select_related("control_owner", "backup_owner")


def dashboard_workflows(user):
    """The dashboard's workflows, with counts."""
    return with_counts(dashboard_scope(user)).order_by("next_review_due", "name")
