"""Periodic access reviews: open a campaign, decide its items, close it, and apply the
workflow's consequence when its deadline passes.

Every function that changes state runs in one transaction and locks the campaign row
first (then its items, then the workflow), re-reading state after the lock, so a decision
racing the deadline sweep or a second browser tab is settled by the database. Revoking a
grant and suspending a workload go through the access-lifecycle services, so a review
revoke ends access at once and leaves the same audit trail as any other revoke.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import permissions
from .choices import (
    REVIEW_OUTCOMES_BY_KIND,
    AccessLevel,
    ApprovalMode,
    CampaignStatus,
    MissedReviewAction,
    ReviewItemKind,
    ReviewOutcome,
    WorkflowStatus,
)
from .exceptions import IllegalTransition, InvalidInput, NotAllowed, NotFound
from .models import Policy, ReviewCampaign, ReviewItem, Workflow
from .signals import campaign_closed, campaign_opened, review_deadline_missed, review_item_decided

log = logging.getLogger(__name__)

# Workflows whose access is reviewed: a suspended workflow may still hold grants.
REVIEWED_STATUSES = (WorkflowStatus.ACTIVE, WorkflowStatus.SUSPENDED)
# A campaign opened late (beat was down, a workflow was overdue already) still gives the
# owner this long before any consequence.
MIN_RESPONSE_TIME = timedelta(days=1)

CERTIFY, REVOKE, SUSPEND = "certify", "revoke", "suspend"
DECISIONS = (CERTIFY, REVOKE, SUSPEND)


def lifecycle():
    """The access-lifecycle services (revoke_grant, suspend_workload), imported late:
    the approvals app depends on governance, not the other way round."""
    from approvals import services

    return services


# ---------------------------------------------------------------- what is reviewed


def auto_approving_policies(workflow):
    """Policies of `workflow` under which access is granted without anyone deciding.

    Follows the runtime defaults in `approvals.policy`: an explicit auto-approve, or the
    default rules, which auto-approve read access in the tiers they name.
    """
    from approvals.policy import AUTO_APPROVE_TIERS, TWO_PERSON_TIERS

    condition = Q(approval_mode=ApprovalMode.AUTO)
    if workflow.risk_tier in AUTO_APPROVE_TIERS and workflow.risk_tier not in TWO_PERSON_TIERS:
        condition |= Q(approval_mode=ApprovalMode.DEFAULT, entitlement__access_level=AccessLevel.READ)
    return workflow.policies.filter(condition).select_related("entitlement").order_by("entitlement__scope")


def _grant_label(grant):
    task = f" · task {grant.task_ref}" if grant.task_ref else ""
    return f"{grant.entitlement.scope} for {grant.subject_label}{task} · until {grant.expires_at:%Y-%m-%d %H:%M %Z}"


def _items_to_review(workflow, now):
    """Unsaved items for everything `workflow` grants or lets act right now."""
    from approvals.choices import GrantStatus
    from approvals.models import Grant

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
        workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
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
            locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
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


# ---------------------------------------------------------------- deciding


def _outcome_for(item, decision):
    if decision == CERTIFY:
        outcome = ReviewOutcome.CERTIFIED
    elif item.kind == ReviewItemKind.WORKLOAD:
        # Taking a workload's access away means suspending it (its grants end with it).
        outcome = ReviewOutcome.SUSPENDED
    else:
        outcome = ReviewOutcome.REVOKED if decision == REVOKE else ReviewOutcome.SUSPENDED
    if outcome not in REVIEW_OUTCOMES_BY_KIND[item.kind]:
        if item.kind == ReviewItemKind.OWNERSHIP:
            raise InvalidInput(
                "The control-owner assignment cannot be revoked from a review: assign another control "
                "owner to the workflow, then certify the assignment.",
                field_errors={"decision": ["Only “certify” applies to the control-owner assignment."]},
            )
        raise InvalidInput(
            f"“{item.label}” cannot be suspended; only workload identities are.",
            field_errors={"decision": ["Suspend applies to workload identities only."]},
        )
    return outcome


def _check_separation_of_duties(item, by, outcome):
    if outcome != ReviewOutcome.CERTIFIED or item.kind != ReviewItemKind.GRANT:
        return
    if by.pk in (item.grant.requested_by_id, item.grant.on_behalf_of_id):
        raise NotAllowed(
            f"Nobody certifies their own access: “{item.label}” is yours, so the other owner of the "
            "workflow decides it (you may revoke it)."
        )


def _stop_auto_approval(policy):
    """Revoking an auto-approving policy makes every further request need the control owner."""
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    if policy.approval_mode != ApprovalMode.OWNER:
        policy.approval_mode = ApprovalMode.OWNER
        policy.save(update_fields=["approval_mode", "updated_at"])


def _carry_out(item, outcome, *, by, reason):
    if outcome == ReviewOutcome.REVOKED and item.kind == ReviewItemKind.GRANT:
        lifecycle().revoke_grant(item.grant, by=by, reason=reason)
    elif outcome == ReviewOutcome.SUSPENDED:
        lifecycle().suspend_workload(item.workload, by=by, reason=reason)
    elif outcome == ReviewOutcome.REVOKED and item.kind == ReviewItemKind.POLICY and item.policy_id:
        _stop_auto_approval(item.policy)


def _record(item, outcome, *, by, comment, now, campaign):
    item.outcome = outcome
    item.comment = comment
    item.decided_by = by
    item.decided_at = now
    item.save(update_fields=["outcome", "comment", "decided_by", "decided_at"])
    review_item_decided.send(sender=ReviewCampaign, campaign=campaign, item=item, by=by)


def _lock_campaign(campaign):
    try:
        return ReviewCampaign.objects.select_for_update().select_related("workflow").get(pk=campaign.pk)
    except ReviewCampaign.DoesNotExist:
        raise NotFound("Access review not found.")


def _lock_items(campaign, **filters):
    # `of=("self",)`: PostgreSQL refuses FOR UPDATE on the nullable side of the joins.
    return list(
        ReviewItem.objects.select_for_update(of=("self",))
        .select_related("grant", "workload", "policy")
        .filter(campaign=campaign, **filters)
        .order_by("pk")
    )


def decide_items(campaign, item_ids, *, by, decision, comment=""):
    """Certify, revoke or suspend several items of one campaign at once, all or nothing.

    `decision` is "certify", "revoke" or "suspend"; "revoke" on a workload identity
    suspends it. A revoke or suspension needs a comment and takes effect at once. When the
    last item is decided the campaign completes. Raises InvalidInput, NotFound,
    NotAllowed (not an owner of the workflow; certifying one's own access) or
    IllegalTransition (campaign closed, item already decided).
    """
    comment = (comment or "").strip()
    if decision not in DECISIONS:
        raise InvalidInput(
            f"Unknown decision “{decision}”.", field_errors={"decision": [f"Choose one of: {', '.join(DECISIONS)}."]}
        )
    try:
        item_ids = sorted({int(pk) for pk in item_ids})
    except (TypeError, ValueError):
        raise InvalidInput("Items are chosen by their numbers.", field_errors={"items": ["Not a list of item ids."]})
    if not item_ids:
        raise InvalidInput("Choose at least one item.", field_errors={"items": ["Choose at least one item."]})
    if decision != CERTIFY and not comment:
        raise InvalidInput(
            "Say why: a revoke or suspension needs a comment.", field_errors={"comment": ["This field is required."]}
        )
    now = timezone.now()
    with transaction.atomic():
        campaign = _lock_campaign(campaign)
        if not permissions.can_decide_review(by, campaign):
            raise NotAllowed("Only the workflow's control owner or backup owner answers its access review.")
        if not campaign.is_open:
            raise IllegalTransition("This access review is closed; its decisions can no longer change.")
        items = _lock_items(campaign, pk__in=item_ids)
        if len(items) != len(item_ids):
            raise NotFound("Some of the chosen items are not part of this access review.")
        planned = []
        for item in items:
            if not item.is_pending:
                raise IllegalTransition(f"“{item.label}” was already decided ({item.get_outcome_display().lower()}).")
            outcome = _outcome_for(item, decision)
            _check_separation_of_duties(item, by, outcome)
            planned.append((item, outcome))
        reason = f"Access review of {campaign.workflow} (#{campaign.pk}) by {by}: {comment}"
        for item, outcome in planned:
            _carry_out(item, outcome, by=by, reason=reason)
            _record(item, outcome, by=by, comment=comment, now=now, campaign=campaign)
        _close_if_done(campaign, by=by, now=now)
    return items


def decide_item(item, *, by, decision, comment=""):
    """Decide one review item; see `decide_items`."""
    return decide_items(item.campaign, [item.pk], by=by, decision=decision, comment=comment)[0]


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
    workflow = Workflow.objects.select_for_update().get(pk=campaign.workflow_id)
    workflow.next_review_due = now + timedelta(days=workflow.review_cycle_days)
    fields = ["next_review_due", "updated_at"]
    if campaign.suspended_workflow and workflow.status == WorkflowStatus.SUSPENDED:
        workflow.status = WorkflowStatus.ACTIVE
        fields.append("status")
    workflow.save(update_fields=fields)
    campaign_closed.send(sender=ReviewCampaign, campaign=campaign)


def _close_if_done(campaign, *, by, now):
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
        campaign = _lock_campaign(campaign)
        if by is not None and not permissions.can_decide_review(by, campaign):
            raise NotAllowed("Only the workflow's control owner or backup owner closes its access review.")
        if not campaign.is_open:
            raise IllegalTransition("This access review is already closed.")
        pending = campaign.items.filter(outcome=ReviewOutcome.PENDING).count()
        if pending:
            raise IllegalTransition(f"{pending} item(s) still wait for a decision.")
        _close(campaign, by=by, now=now, note=note)
    return campaign


# ---------------------------------------------------------------- sweeps: lapsed items, deadlines


def _lapse_reason(item, now):
    """Why a pending item no longer needs a decision, or None when it still does."""
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
        campaign = _lock_campaign(campaign)
        if not campaign.is_open:
            return 0
        settled = 0
        for item in _lock_items(campaign, outcome=ReviewOutcome.PENDING):
            reason = _lapse_reason(item, now)
            if reason:
                _record(item, ReviewOutcome.LAPSED, by=None, comment=reason, now=now, campaign=campaign)
                settled += 1
        _close_if_done(campaign, by=None, now=now)
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
        campaign = _lock_campaign(campaign)
        if not campaign.is_open or campaign.deadline_missed_at is not None or now < campaign.due_at:
            return False
        workflow = Workflow.objects.select_for_update().get(pk=campaign.workflow_id)
        action = MissedReviewAction(workflow.missed_review_action)
        campaign.deadline_missed_at = now
        campaign.deadline_action = action
        reason = f"The access review of {workflow} (#{campaign.pk}) was not finished by {campaign.due_at:%Y-%m-%d}."
        kinds = {
            MissedReviewAction.ESCALATE: (),
            MissedReviewAction.REVOKE: (ReviewItemKind.GRANT,),
            MissedReviewAction.SUSPEND: (ReviewItemKind.GRANT, ReviewItemKind.WORKLOAD),
        }[action]
        for item in _lock_items(campaign, outcome=ReviewOutcome.PENDING, kind__in=kinds):
            lapsed = _lapse_reason(item, now)
            if lapsed:
                _record(item, ReviewOutcome.LAPSED, by=None, comment=lapsed, now=now, campaign=campaign)
                continue
            outcome = ReviewOutcome.REVOKED if item.kind == ReviewItemKind.GRANT else ReviewOutcome.SUSPENDED
            _carry_out(item, outcome, by=None, reason=reason)
            comment = f"{outcome.label} automatically: {reason}"
            _record(item, outcome, by=None, comment=comment, now=now, campaign=campaign)
        if action == MissedReviewAction.SUSPEND and workflow.status == WorkflowStatus.ACTIVE:
            workflow.status = WorkflowStatus.SUSPENDED
            workflow.save(update_fields=["status", "updated_at"])
            campaign.suspended_workflow = True
        campaign.save(update_fields=["deadline_missed_at", "deadline_action", "suspended_workflow"])
        review_deadline_missed.send(sender=ReviewCampaign, campaign=campaign, action=action)
        _close_if_done(campaign, by=None, now=now)
    return True


def enforce_review_deadlines(now=None):
    """Settle lapsed items of every open campaign and apply missed deadlines. Returns counts."""
    now = now or timezone.now()
    summary = {"settled": 0, "deadline_missed": 0, "failed": 0}
    campaigns = ReviewCampaign.objects.filter(status=CampaignStatus.OPEN).select_related("workflow").order_by("due_at")
    for campaign in campaigns:
        try:
            summary["settled"] += settle_campaign(campaign, now=now)
            if now >= campaign.due_at and campaign.deadline_missed_at is None:
                summary["deadline_missed"] += apply_missed_deadline(campaign, now=now)
        except Exception:
            log.exception("Could not enforce the deadline of access review %s", campaign.pk)
            summary["failed"] += 1
    return summary
