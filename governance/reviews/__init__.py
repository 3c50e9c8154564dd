"""Periodic access reviews: open a campaign, decide its items, close it, and apply the
workflow's consequence when its deadline passes.

Every function that changes state runs in one transaction and locks the campaign row
first (then its items, then the workflow), re-reading state after the lock, so a decision
racing the deadline sweep or a second browser tab is settled by the database. Revoking a
grant and suspending a workload go through the access-lifecycle services, so a review
revoke ends access at once and leaves the same audit trail as any other revoke.
"""

from .campaigns import (
    MIN_RESPONSE_TIME,
    REVIEWED_STATUSES,
    auto_approving_policies,
    close_campaign,
    notice_period,
    open_campaign,
    open_due_campaigns,
)
from .deadlines import apply_missed_deadline, enforce_review_deadlines, settle_campaign
from .decisions import CERTIFY, DECISIONS, REVOKE, SUSPEND, decide_item, decide_items, is_own_access

__all__ = [
    "CERTIFY",
    "DECISIONS",
    "MIN_RESPONSE_TIME",
    "REVIEWED_STATUSES",
    "REVOKE",
    "SUSPEND",
    "apply_missed_deadline",
    "auto_approving_policies",
    "close_campaign",
    "decide_item",
    "decide_items",
    "enforce_review_deadlines",
    "is_own_access",
    "notice_period",
    "open_campaign",
    "open_due_campaigns",
    "settle_campaign",
]
