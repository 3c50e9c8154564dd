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
