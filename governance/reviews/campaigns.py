"""Opening and closing review campaigns, and the primitives the other review modules share."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals.choices import GrantStatus
from approvals.models import Grant
from approvals.policy import AUTO_APPROVE_TIERS, TWO_PERSON_TIERS

from .. import permissions
from ..choices import (
    AccessLevel,
    ApprovalMode,
    CampaignStatus,
    MissedReviewAction,
    ReviewItemKind,
    ReviewOutcome,
    WorkflowStatus,
)
from ..exceptions import IllegalTransition, NotAllowed, NotFound
from ..models import ReviewCampaign, ReviewItem, Workflow
from .signals import campaign_closed, campaign_opened, review_item_decided
from .tickets import queue_review_close

log = logging.getLogger(__name__)

# Workflows whose access is reviewed: a suspended workflow may still hold grants.
REVIEWED_STATUSES = (WorkflowStatus.ACTIVE, WorkflowStatus.SUSPENDED)
# A campaign opened late (beat was down, a workflow was overdue already) still gives the
# owner this long before any consequence.
MIN_RESPONSE_TIME = timedelta(days=1)


# ---------------------------------------------------------------- what is reviewed


def auto_approving_policies(workflow):
    """Policies of `workflow` under which access is granted without anyone deciding.

    Follows the runtime defaults in `approvals.policy`: an explicit auto-approve, or the
    default rules, which auto-approve read access in the tiers they name.
    """

    condition = Q(approval_mode=ApprovalMode.AUTO)
    if workflow.risk_tier in AUTO_APPROVE_TIERS and workflow.risk_tier not in TWO_PERSON_TIERS:
        condition |= Q(approval_mode=ApprovalMode.DEFAULT, entitlement__access_level=AccessLevel.READ)
    return workflow.policies.filter(condition).select_related("entitlement").order_by("entitlement__scope")


def _grant_label(grant):
    task = f" · task {grant.task_ref}" if grant.task_ref else ""
    return f"{grant.entitlement.scope} for {grant.subject_label}{task} · until {grant.expires_at:%Y-%m-%d %H:%M %Z}"


def _items_to_review(workflow, now):
    """Unsaved items for everything `workflow` grants or lets act right now."""
    items = []
    grants = (
        Grant.objects.filter(workflow=workflow, status=GrantStatus.ACTIVE, expires_at__gt=now)
        .select_related("entitlement", "requested_by", "workload", "on_behalf_of")
        .order_by("expires_at", "pk")
    )
    for grant in grants:
        items.append(ReviewItem(kind=ReviewItemKind.GRANT, grant=grant, label=_grant_label(grant)[:300]))
    for workload in workflow.workloads.filter(status="active").select_related("owner").order_by("name"):
        label = f"{workload} ({workload.get_kind_display()}, owned by {workload.owner})"
        items.append(ReviewItem(kind=ReviewItemKind.WORKLOAD, workload=workload, label=label[:300]))
    for policy in auto_approving_policies(workflow):
        label = f"{policy.entitlement.scope} is granted automatically ({policy.get_approval_mode_display()})"
        items.append(ReviewItem(kind=ReviewItemKind.POLICY, policy=policy, label=label[:300]))
    # The owner is accountable for what the workflow grants; with nothing granted there is
    # nothing for the assignment to answer for in this cycle.
    if items:
        owner = workflow.control_owner
        backup = workflow.backup_owner
        label = f"{owner.label if owner else 'Nobody'} as control owner (backup: {backup.label if backup else 'none'})"
        items.append(ReviewItem(kind=ReviewItemKind.OWNERSHIP, owner=owner, label=label[:300]))
    return items


# ---------------------------------------------------------------- opening


def notice_period(workflow):
    """How long before its review is due a workflow's campaign opens."""
    return timedelta(days=min(settings.REVIEW_NOTICE_DAYS, workflow.review_cycle_days))


def open_campaign(workflow, *, now=None):
    """Open `workflow`'s access review now; due at its `next_review_due` (at least a day away).

    A workflow with nothing to review gets a campaign that closes itself with a note, so
    the record shows the review happened and the next cycle is scheduled.
    Raises IllegalTransition when a campaign is already open or the workflow is not
    reviewed (draft, retired).
    """
    now = now or timezone.now()
    with transaction.atomic():
        workflow = Workflow.objects.select_for_update(no_key=True).get(pk=workflow.pk)
        if workflow.status not in REVIEWED_STATUSES:
            raise IllegalTransition(f"Workflow “{workflow}” is {workflow.get_status_display().lower()}: not reviewed.")
        if ReviewCampaign.objects.filter(workflow=workflow, status=CampaignStatus.OPEN).exists():
            raise IllegalTransition(f"Workflow “{workflow}” already has an open access review.")
        due_at = max(workflow.next_review_due or now, now + MIN_RESPONSE_TIME)
        items = _items_to_review(workflow, now)
        campaign = ReviewCampaign.objects.create(workflow=workflow, opened_at=now, due_at=due_at)
        if not items:
            _close(
                campaign,
                by=None,
                now=now,
                note="Nothing to review: no active grants, no active workload identities and no "
                "auto-approving policies. Closed automatically.",
            )
            return campaign
        for item in items:
            item.campaign = campaign
        ReviewItem.objects.bulk_create(items)
        if workflow.next_review_due != due_at:
            # Keep the workflow's due date, which the policy engine reads, equal to the campaign's.
            workflow.next_review_due = due_at
            workflow.save(update_fields=["next_review_due", "updated_at"])
        campaign_opened.send(sender=ReviewCampaign, campaign=campaign)
    return campaign


def open_due_campaigns(now=None):
    """Open a campaign for every reviewed workflow whose review falls inside its notice
    period; give workflows without a review date their first one. Returns counts."""
    now = now or timezone.now()
    summary = {"opened": 0, "closed_empty": 0, "scheduled": 0, "failed": 0}
    for workflow in Workflow.objects.filter(status__in=REVIEWED_STATUSES, next_review_due__isnull=True):
        with transaction.atomic():
            locked = Workflow.objects.select_for_update(no_key=True).get(pk=workflow.pk)
            if locked.next_review_due is None:
                locked.next_review_due = now + timedelta(days=locked.review_cycle_days)
                locked.save(update_fields=["next_review_due", "updated_at"])
                summary["scheduled"] += 1
    horizon = now + timedelta(days=settings.REVIEW_NOTICE_DAYS)
    candidates = (
        Workflow.objects.filter(status__in=REVIEWED_STATUSES, next_review_due__lte=horizon)
        .exclude(review_campaigns__status=CampaignStatus.OPEN)
        .order_by("next_review_due")
    )
    for workflow in candidates:
        if now < workflow.next_review_due - notice_period(workflow):
            continue
        try:
            campaign = open_campaign(workflow, now=now)
        except IllegalTransition:
            continue  # another run opened it first
        except Exception:
            log.exception("Could not open the access review of workflow %s", workflow.pk)
            summary["failed"] += 1
            continue
        summary["closed_empty" if campaign.status == CampaignStatus.COMPLETED else "opened"] += 1
    return summary


# ---------------------------------------------------------------- shared primitives


def record_outcome(item, outcome, *, by, comment, now, campaign):
    """Write one item's outcome (by=None when Mandate decided) and announce it."""
    item.outcome = outcome
    item.comment = comment
    item.decided_by = by
    item.decided_at = now
    item.save(update_fields=["outcome", "comment", "decided_by", "decided_at"])
    review_item_decided.send(sender=ReviewCampaign, campaign=campaign, item=item, by=by)


def lock_campaign(campaign):
    """The campaign row, locked: every review transition takes this lock first."""
    try:
        return ReviewCampaign.objects.select_for_update().select_related("workflow").get(pk=campaign.pk)
    except ReviewCampaign.DoesNotExist:
        raise NotFound("Access review not found.")


def lock_items(campaign, **filters):
    """The campaign's items matching `filters`, locked in id order (after the campaign)."""
    # `of=("self",)`: PostgreSQL refuses FOR UPDATE on the nullable side of the joins.
    return list(
        ReviewItem.objects.select_for_update(of=("self",))
        .select_related("grant", "workload", "policy")
        .filter(campaign=campaign, **filters)
        .order_by("pk")
    )


# ---------------------------------------------------------------- closing


def _summary_note(campaign):
    counts = {}
    for outcome in campaign.items.values_list("outcome", flat=True):
        counts[outcome] = counts.get(outcome, 0) + 1
    parts = [f"{n} {ReviewOutcome(o).label.lower()}" for o, n in sorted(counts.items())]
    note = "Completed: " + ", ".join(parts) + "."
    if campaign.deadline_missed_at:
        note += (
            f" Finished late: the deadline passed on {campaign.deadline_missed_at:%Y-%m-%d} "
            f"({MissedReviewAction(campaign.deadline_action).label.lower()})."
        )
    return note


def _close(campaign, *, by, now, note=""):
    campaign.status = CampaignStatus.COMPLETED
    campaign.closed_at = now
    campaign.closed_by = by
    campaign.close_note = note or _summary_note(campaign)
    campaign.save(update_fields=["status", "closed_at", "closed_by", "close_note"])
    workflow = Workflow.objects.select_for_update(no_key=True).get(pk=campaign.workflow_id)
    workflow.next_review_due = now + timedelta(days=workflow.review_cycle_days)
    fields = ["next_review_due", "updated_at"]
    if campaign.suspended_workflow and workflow.status == WorkflowStatus.SUSPENDED:
        workflow.status = WorkflowStatus.ACTIVE
        fields.append("status")
    workflow.save(update_fields=fields)
    campaign_closed.send(sender=ReviewCampaign, campaign=campaign)
    queue_review_close(campaign)


def close_if_done(campaign, *, by, now):
    if campaign.is_open and not campaign.items.filter(outcome=ReviewOutcome.PENDING).exists():
        _close(campaign, by=by, now=now)
        return True
    return False


def close_campaign(campaign, *, by=None, note=""):
    """Complete a campaign whose items are all decided (or that has none).

    The next review of the workflow is counted from now; a workflow suspended by this
    campaign's missed deadline is active again. Raises IllegalTransition while items
    still wait for a decision or when it is closed already.
    """
    now = timezone.now()
    with transaction.atomic():
        campaign = lock_campaign(campaign)
        if by is not None and not permissions.can_decide_review(by, campaign):
            raise NotAllowed("Only the workflow's control owner or backup owner closes its access review.")
        if not campaign.is_open:
            raise IllegalTransition("This access review is already closed.")
        pending = campaign.items.filter(outcome=ReviewOutcome.PENDING).count()
        if pending:
            raise IllegalTransition(f"{pending} item(s) still wait for a decision.")
        _close(campaign, by=by, now=now, note=note)
    return campaign
