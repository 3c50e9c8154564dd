"""States and kinds of the governance app, in one place."""

from django.db import models


class RiskTier(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    RETIRED = "retired", "Retired"


class AccessLevel(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    ADMIN = "admin", "Admin"


class Sensitivity(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class ApprovalMode(models.TextChoices):
    # "default" lets the runtime rules decide from risk tier and access level.
    DEFAULT = "default", "By the default rules"
    AUTO = "auto", "Auto-approve"
    OWNER = "owner", "Control owner approval"
    TWO_PERSON = "two_person", "Two-person approval"
    DENY = "deny", "Deny"


class EvidenceKind(models.TextChoices):
    """What an evidence record is about.

    The first four are reported by agents (through the batch API); the rest are written by
    Mandate's own services. `request` (an access request submitted or closed) and
    `workload` (a workload suspended) complete the story between approvals and grants.
    """

    PROMPT = "prompt", "Prompt"
    TOOL_CALL = "tool_call", "Tool call"
    DATA_ACCESS = "data_access", "Data access"
    ACTION = "action", "Action"
    AUTHORIZATION = "authorization", "Authorization decision"
    REQUEST = "request", "Access request"
    APPROVAL = "approval", "Approval decision"
    GRANT = "grant", "Grant"
    REVIEW = "review", "Review decision"
    WORKLOAD = "workload", "Workload status"
    REGISTRY_CHANGE = "registry_change", "Registry change"
    ACCOUNT = "account", "Sign-in lock"


# Kinds an agent may report about itself; the others only Mandate's services write.
AGENT_EVIDENCE_KINDS = frozenset(
    {EvidenceKind.PROMPT, EvidenceKind.TOOL_CALL, EvidenceKind.DATA_ACCESS, EvidenceKind.ACTION}
)


class EvidenceOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    ERROR = "error", "Error"
    BLOCKED = "blocked", "Blocked"
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"
    ISSUED = "issued", "Issued"
    EXTENDED = "extended", "Extended"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    LOCKED = "locked", "Locked"
    UNLOCKED = "unlocked", "Unlocked"
    CERTIFIED = "certified", "Certified"
    SUSPENDED = "suspended", "Suspended"
    LAPSED = "lapsed", "Lapsed"


# Outcomes an agent may report; the others describe decisions only Mandate makes.
AGENT_EVIDENCE_OUTCOMES = frozenset(
    {EvidenceOutcome.SUCCESS, EvidenceOutcome.FAILURE, EvidenceOutcome.ERROR, EvidenceOutcome.BLOCKED}
)


class FindingKind(models.TextChoices):
    STANDING_PRIVILEGE = "standing_privilege", "Standing privilege"
    SHARED_PRINCIPAL = "shared_principal", "External principal shared across workflows"
    NO_ACTIVE_OWNER = "no_active_owner", "Workflow without an active owner"
    OVERDUE_REVIEW = "overdue_review", "Overdue access review"
    UNUSED_WORKLOAD = "unused_workload", "Workload unused for 90 days"
    USED_AFTER_TASK = "used_after_task", "Grant used after its task was completed"
    BROKEN_EVIDENCE_CHAIN = "broken_evidence_chain", "Evidence chain broken"
    ROLE_CONFLICT = "role_conflict", "Roles that cannot mix"


class FindingSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class MissedReviewAction(models.TextChoices):
    """What happens when a workflow's access review is not finished by its due date."""

    ESCALATE = "escalate", "Escalate only (remind the backup owner and security)"
    REVOKE = "revoke", "Revoke every grant not certified"
    SUSPEND = "suspend", "Revoke, suspend the workloads and refuse new requests until done"


class CampaignStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"


class ReviewItemKind(models.TextChoices):
    GRANT = "grant", "Active grant"
    WORKLOAD = "workload", "Workload identity"
    POLICY = "policy", "Auto-approving policy"
    OWNERSHIP = "ownership", "Control-owner assignment"


class ReviewOutcome(models.TextChoices):
    PENDING = "pending", "Awaiting decision"
    CERTIFIED = "certified", "Certified (keep)"
    REVOKED = "revoked", "Revoked"
    SUSPENDED = "suspended", "Suspended"
    # The thing under review went away on its own before anyone decided (a grant expired,
    # a workload was retired or suspended elsewhere): nothing left to certify or revoke.
    LAPSED = "lapsed", "Ended before review"


REVIEW_DECIDED_OUTCOMES = frozenset(
    {ReviewOutcome.CERTIFIED, ReviewOutcome.REVOKED, ReviewOutcome.SUSPENDED, ReviewOutcome.LAPSED}
)
# What each kind of item can become by a reviewer's decision.
REVIEW_OUTCOMES_BY_KIND = {
    ReviewItemKind.GRANT: {ReviewOutcome.CERTIFIED, ReviewOutcome.REVOKED},
    ReviewItemKind.WORKLOAD: {ReviewOutcome.CERTIFIED, ReviewOutcome.SUSPENDED},
    ReviewItemKind.POLICY: {ReviewOutcome.CERTIFIED, ReviewOutcome.REVOKED},
    ReviewItemKind.OWNERSHIP: {ReviewOutcome.CERTIFIED},
}


class ReminderStage(models.TextChoices):
    """Where a campaign stands in its reminder schedule; each stage is sent once."""

    OPENED = "opened", "Review opened"
    DUE_IN_3_DAYS = "due_in_3", "Due in 3 days"
    DUE_IN_1_DAY = "due_in_1", "Due tomorrow"
    DUE_TODAY = "due_today", "Due today"
    OVERDUE = "overdue", "Overdue (escalated)"


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    TICKET = "ticket", "Ticket queue"


class DigestStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    GAVE_UP = "gave_up", "Failed (gave up)"
    SKIPPED = "skipped", "Nothing left to remind by sending time"


class ChangeKind(models.TextChoices):
    """Registry changes that widen access and so wait for a second person."""

    ACTIVATE_WORKFLOW = "activate", "Activate a workflow"
    NAME_OWNERS = "owners", "Name or change owners"
    WIDEN_WORKFLOW = "widen_workflow", "Lower a workflow's risk tier"
    ADD_POLICY = "add_policy", "Add an entitlement to a workflow"
    WIDEN_POLICY = "widen_policy", "Widen a policy"
    CHANGE_ENTITLEMENT = "entitlement", "Widen an entitlement or change its resource owner"


class ChangeState(models.TextChoices):
    PENDING = "pending", "Awaiting approval"
    APPROVED = "approved", "Approved and applied"
    DENIED = "denied", "Denied"
    CANCELLED = "cancelled", "Withdrawn"


CHANGE_TERMINAL_STATES = frozenset({ChangeState.APPROVED, ChangeState.DENIED, ChangeState.CANCELLED})


class WebhookEvent(models.TextChoices):
    REQUEST_SUBMITTED = "access_request.submitted", "Access request submitted"
    REQUEST_DECIDED = "access_request.decided", "Access request decided"
    GRANT_ISSUED = "grant.issued", "Grant issued"
    GRANT_ENDED = "grant.ended", "Grant ended (expired or revoked)"
    REVIEW_OPENED = "review.opened", "Access review opened"
    REVIEW_OVERDUE = "review.overdue", "Access review overdue"
    WORKLOAD_SUSPENDED = "workload.suspended", "Workload suspended"
    FINDING_OPENED = "finding.opened", "Finding opened"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting or retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (retries exhausted)"
