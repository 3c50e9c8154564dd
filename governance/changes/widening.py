"""Which part of a registry change widens access (and so waits for a second person).

Pure functions over plain values: each takes the current values (None for something new)
and the requested ones, and returns the widening fields with a sentence for each. What
is not widening applies at once.
"""

from approvals.policy import APPROVALS_NEEDED, effective_mode, human_duration
from governance.choices import AccessLevel, ApprovalMode, MissedReviewAction, RiskTier, WorkflowStatus

RISK_ORDER = [RiskTier.LOW, RiskTier.MEDIUM, RiskTier.HIGH, RiskTier.CRITICAL]
LEVEL_ORDER = [AccessLevel.READ, AccessLevel.WRITE, AccessLevel.ADMIN]
OWNER_FIELDS = ("control_owner", "backup_owner")
# What a missed review does, mildest first: a milder consequence weakens the review.
MISSED_REVIEW_ORDER = [MissedReviewAction.ESCALATE, MissedReviewAction.REVOKE, MissedReviewAction.SUSPEND]


def _pk(value):
    return getattr(value, "pk", value)


def workflow_widening(current, requested):
    """{field: reason} for a workflow change. `current` is the workflow's values (status,
    owners as ids, risk tier) or None for a new workflow; `requested` the new values."""
    reasons = {}
    status_now = current["status"] if current else None
    status = requested.get("status", status_now)
    if status == WorkflowStatus.ACTIVE and status_now != WorkflowStatus.ACTIVE:
        reasons["status"] = "Activating a workflow lets its entitlements be granted."
    # Owners of a draft are reviewed with its activation; afterwards naming one is a change.
    if current and status_now != WorkflowStatus.DRAFT:
        for name in OWNER_FIELDS:
            if name in requested and _pk(requested[name]) not in (None, current[name]):
                reasons[name] = f"Naming the {name.replace('_', ' ')} decides who approves access."
    tier = requested.get("risk_tier") if current else None
    if tier in RISK_ORDER and RISK_ORDER.index(tier) < RISK_ORDER.index(current["risk_tier"]):
        reasons["risk_tier"] = "A lower risk tier needs fewer approvals by default."
    action = requested.get("missed_review_action") if current else None
    if action in MISSED_REVIEW_ORDER and MISSED_REVIEW_ORDER.index(action) < MISSED_REVIEW_ORDER.index(
        current["missed_review_action"]
    ):
        reasons["missed_review_action"] = "A milder consequence lets access outlive a missed review."
    return reasons


def policy_widening(current, requested, *, risk_tier, access_level):
    """{field: reason} for a policy. `current` holds the policy's values, None for a new one."""
    if current is None:
        if requested.get("approval_mode") == ApprovalMode.DENY:
            return {}  # a policy that denies every request grants nothing
        return {"entitlement": "Adding an entitlement to a workflow lets it be granted there."}
    merged = {**current, **requested}
    reasons = {}
    before = effective_mode(current["approval_mode"], risk_tier, access_level)
    after = effective_mode(merged["approval_mode"], risk_tier, access_level)
    if APPROVALS_NEEDED[after] < APPROVALS_NEEDED[before]:
        if after == ApprovalMode.AUTO:
            reasons["approval_mode"] = f"{AccessLevel(access_level).label} access would be approved automatically."
        else:
            reasons["approval_mode"] = (
                f"Requests would need {APPROVALS_NEEDED[after]} approval(s) instead of {APPROVALS_NEEDED[before]}."
            )
    if merged["max_ttl_seconds"] > current["max_ttl_seconds"]:
        reasons["max_ttl_seconds"] = (
            f"Grants could last {human_duration(merged['max_ttl_seconds'])} instead of "
            f"{human_duration(current['max_ttl_seconds'])}."
        )
    for name, what in (("task_ref_required", "a task reference"), ("justification_required", "a justification")):
        if current[name] and not merged[name]:
            reasons[name] = f"Requests would no longer need {what}."
    return reasons


def entitlement_widening(current, requested):
    """{field: reason} for a change of an existing entitlement."""
    reasons = {}
    if "resource_owner" in requested and _pk(requested["resource_owner"]) != current["resource_owner"]:
        reasons["resource_owner"] = "Naming the resource owner decides who approves this entitlement's use."
    if requested.get("max_lifetime_seconds", 0) > current["max_lifetime_seconds"]:
        reasons["max_lifetime_seconds"] = "Grants of this entitlement could last longer."
    level = requested.get("access_level")
    if level in LEVEL_ORDER and LEVEL_ORDER.index(level) < LEVEL_ORDER.index(current["access_level"]):
        reasons["access_level"] = "A lower access level is approved more easily by the default rules."
    return reasons
