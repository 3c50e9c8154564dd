"""The review services in one import: open, decide, close and enforce (see the package docstring)."""

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
