"""States of requests and grants, their terminal sets and allowed transitions."""

from django.db import models


class RequestState(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"


REQUEST_TERMINAL_STATES = frozenset(
    {RequestState.APPROVED, RequestState.DENIED, RequestState.CANCELLED, RequestState.TIMED_OUT}
)
REQUEST_TRANSITIONS = {
    RequestState.PENDING: {RequestState.APPROVED, RequestState.DENIED, RequestState.CANCELLED, RequestState.TIMED_OUT},
}


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    DENY = "deny", "Deny"


class Channel(models.TextChoices):
    BROWSER = "browser", "Browser"
    TICKET = "ticket", "Ticket queue"
    API = "api", "API"
    CHAT = "chat", "Chat (Slack)"
    POLICY = "policy", "Policy (automatic)"


class GrantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


GRANT_TERMINAL_STATES = frozenset({GrantStatus.EXPIRED, GrantStatus.REVOKED})
GRANT_TRANSITIONS = {
    GrantStatus.ACTIVE: {GrantStatus.EXPIRED, GrantStatus.REVOKED},
}


class PolicyEffect(models.TextChoices):
    AUTO_APPROVE = "auto_approve", "Auto-approve"
    NEEDS_APPROVAL = "needs_approval", "Needs approval"
    DENY = "deny", "Deny"


class QueueKind(models.TextChoices):
    """Ticket systems a workflow's approvals can travel through (see approvals.tickets)."""

    PORTAL = "portal", "Mandate inbox (built-in)"
    RT = "rt", "Request Tracker 5"
    JIRA = "jira", "Jira Cloud"
    JIRA_DC = "jira_dc", "Jira Data Center"
    SERVICENOW = "servicenow", "ServiceNow"
    GITHUB = "github", "GitHub Issues"
