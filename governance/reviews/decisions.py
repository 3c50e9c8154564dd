"""Deciding review items: certify, revoke or suspend, one at a time or in bulk."""

from django.db import transaction
from django.utils import timezone

from approvals import services

from .. import permissions
from ..choices import REVIEW_OUTCOMES_BY_KIND, ApprovalMode, ReviewItemKind, ReviewOutcome
from ..exceptions import IllegalTransition, InvalidInput, NotAllowed, NotFound
from ..models import Policy
from .campaigns import close_if_done, lock_campaign, lock_items, record_outcome

CERTIFY, REVOKE, SUSPEND = "certify", "revoke", "suspend"
DECISIONS = (CERTIFY, REVOKE, SUSPEND)


def lifecycle():
    """The access-lifecycle services (revoke_grant, suspend_workload), imported late:
    the approvals app depends on governance, not the other way round."""

    return services


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


def is_own_access(item, person):
    """Whether `item` is the person's own access (a grant they asked for or that acts for
    them), which separation of duties forbids them to certify. Needs `item.grant` loaded."""
    if item.kind != ReviewItemKind.GRANT or item.grant is None:
        return False
    return person.pk in (item.grant.requested_by_id, item.grant.on_behalf_of_id)


def _check_separation_of_duties(item, by, outcome):
    if outcome != ReviewOutcome.CERTIFIED:
        return
    if is_own_access(item, by):
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


def carry_out(item, outcome, *, by, reason):
    if outcome == ReviewOutcome.REVOKED and item.kind == ReviewItemKind.GRANT:
        lifecycle().revoke_grant(item.grant, by=by, reason=reason)
    elif outcome == ReviewOutcome.SUSPENDED:
        lifecycle().suspend_workload(item.workload, by=by, reason=reason)
    elif outcome == ReviewOutcome.REVOKED and item.kind == ReviewItemKind.POLICY and item.policy_id:
        _stop_auto_approval(item.policy)


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
        campaign = lock_campaign(campaign)
        if not permissions.can_decide_review(by, campaign):
            raise NotAllowed("Only the workflow's control owner or backup owner answers its access review.")
        if not campaign.is_open:
            raise IllegalTransition("This access review is closed; its decisions can no longer change.")
        items = lock_items(campaign, pk__in=item_ids)
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
            carry_out(item, outcome, by=by, reason=reason)
            record_outcome(item, outcome, by=by, comment=comment, now=now, campaign=campaign)
        close_if_done(campaign, by=by, now=now)
    return items


def decide_item(item, *, by, decision, comment=""):
    """Decide one review item; see `decide_items`."""
    return decide_items(item.campaign, [item.pk], by=by, decision=decision, comment=comment)[0]
