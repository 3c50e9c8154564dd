"""Sweeps over open campaigns: items that lapsed by themselves, and missed deadlines."""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import CampaignStatus, MissedReviewAction, ReviewItemKind, ReviewOutcome, WorkflowStatus
from ..models import ReviewCampaign, ReviewItem, Workflow
from .campaigns import (
    REVIEWED_STATUSES,
    auto_approving_policies,
    close_if_done,
    lock_campaign,
    lock_items,
    record_outcome,
)
from .decisions import carry_out
from .signals import review_deadline_missed

log = logging.getLogger(__name__)


def _lapse_reason(item, now, workflow):
    """Why a pending item no longer needs a decision, or None when it still does."""
    if workflow.status not in REVIEWED_STATUSES:
        return f"The workflow was {workflow.get_status_display().lower()} before the review finished."
    if item.kind == ReviewItemKind.GRANT:
        grant = item.grant
        if grant.status != "active":
            return f"The grant ended on its own ({grant.get_status_display().lower()}) before it was reviewed."
        if grant.expires_at <= now:
            return "The grant expired before it was reviewed."
    elif item.kind == ReviewItemKind.WORKLOAD and item.workload.status != "active":
        return f"The workload identity was {item.workload.get_status_display().lower()} before it was reviewed."
    elif item.kind == ReviewItemKind.POLICY and (
        item.policy_id is None or not auto_approving_policies(item.policy.workflow).filter(pk=item.policy_id).exists()
    ):
        return "The policy no longer approves automatically."
    return None


def _may_have_lapsed(campaign, now):
    """A cheap, lock-free look for pending items that may have lapsed, so the frequent sweep
    only locks the campaigns where something changed."""
    if campaign.workflow.status not in REVIEWED_STATUSES:
        return True
    pending = ReviewItem.objects.filter(campaign=campaign, outcome=ReviewOutcome.PENDING)
    gone = (
        Q(kind=ReviewItemKind.GRANT) & (~Q(grant__status="active") | Q(grant__expires_at__lte=now))
        | Q(kind=ReviewItemKind.WORKLOAD) & ~Q(workload__status="active")
        | Q(kind=ReviewItemKind.POLICY, policy__isnull=True)
    )
    if pending.filter(gone).exists():
        return True
    policy_ids = set(pending.filter(kind=ReviewItemKind.POLICY).values_list("policy_id", flat=True))
    return bool(policy_ids - set(auto_approving_policies(campaign.workflow).values_list("pk", flat=True)))


def settle_campaign(campaign, *, now=None):
    """Mark pending items whose subject went away as lapsed; complete the campaign if that
    was all. Returns the number of items settled."""
    now = now or timezone.now()
    if not _may_have_lapsed(campaign, now) and campaign.items.filter(outcome=ReviewOutcome.PENDING).exists():
        return 0
    with transaction.atomic():
        campaign = lock_campaign(campaign)
        if not campaign.is_open:
            return 0
        settled = 0
        for item in lock_items(campaign, outcome=ReviewOutcome.PENDING):
            reason = _lapse_reason(item, now, campaign.workflow)
            if reason:
                record_outcome(item, ReviewOutcome.LAPSED, by=None, comment=reason, now=now, campaign=campaign)
                settled += 1
        close_if_done(campaign, by=None, now=now)
    return settled


def apply_missed_deadline(campaign, *, now=None):
    """Apply the workflow's missed-deadline setting to an open campaign past its due date.

    - escalate: only recorded; the reminders escalate to the backup owner and security;
    - revoke: every grant still awaiting a decision is revoked;
    - suspend: as revoke, and every workload identity still awaiting a decision is
      suspended and the workflow is suspended (new requests refused) until the review
      completes.
    Idempotent: returns False when nothing was due (not yet due, closed, applied before).
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = lock_campaign(campaign)
        if campaign.deadline_missed_at is not None or not campaign.is_overdue(now):
            return False
        workflow = Workflow.objects.select_for_update(no_key=True).get(pk=campaign.workflow_id)
        action = MissedReviewAction(workflow.missed_review_action)
        campaign.deadline_missed_at = now
        campaign.deadline_action = action
        reason = f"The access review of {workflow} (#{campaign.pk}) was not finished by {campaign.due_at:%Y-%m-%d}."
        kinds = {
            MissedReviewAction.ESCALATE: (),
            MissedReviewAction.REVOKE: (ReviewItemKind.GRANT,),
            MissedReviewAction.SUSPEND: (ReviewItemKind.GRANT, ReviewItemKind.WORKLOAD),
        }[action]
        for item in lock_items(campaign, outcome=ReviewOutcome.PENDING, kind__in=kinds):
            lapsed = _lapse_reason(item, now, workflow)
            if lapsed:
                record_outcome(item, ReviewOutcome.LAPSED, by=None, comment=lapsed, now=now, campaign=campaign)
                continue
            outcome = ReviewOutcome.REVOKED if item.kind == ReviewItemKind.GRANT else ReviewOutcome.SUSPENDED
            carry_out(item, outcome, by=None, reason=reason)
            comment = f"{outcome.label} automatically: {reason}"
            record_outcome(item, outcome, by=None, comment=comment, now=now, campaign=campaign)
        if action == MissedReviewAction.SUSPEND and workflow.status == WorkflowStatus.ACTIVE:
            workflow.status = WorkflowStatus.SUSPENDED
            workflow.save(update_fields=["status", "updated_at"])
            campaign.suspended_workflow = True
        campaign.save(update_fields=["deadline_missed_at", "deadline_action", "suspended_workflow"])
        review_deadline_missed.send(sender=ReviewCampaign, campaign=campaign, action=action)
        close_if_done(campaign, by=None, now=now)
    return True


def enforce_review_deadlines(now=None):
    """Settle lapsed items of every open campaign and apply missed deadlines. Returns counts."""
    now = now or timezone.now()
    summary = {"settled": 0, "deadline_missed": 0, "failed": 0}
    campaigns = ReviewCampaign.objects.filter(status=CampaignStatus.OPEN).select_related("workflow").order_by("due_at")
    for campaign in campaigns:
        try:
            summary["settled"] += settle_campaign(campaign, now=now)
            if campaign.is_overdue(now) and campaign.deadline_missed_at is None:
                summary["deadline_missed"] += apply_missed_deadline(campaign, now=now)
        except Exception:
            log.exception("Could not enforce the deadline of access review %s", campaign.pk)
            summary["failed"] += 1
    return summary
