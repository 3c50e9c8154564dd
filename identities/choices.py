"""States and kinds of the identities app, in one place."""

from django.db import models


class SourceKind(models.TextChoices):
    LOCAL = "local", "Local accounts"
    OIDC = "oidc", "OpenID Connect"
    LDAP = "ldap", "LDAP directory"
    SCIM = "scim", "SCIM provisioning"
    CLOUD_IAM = "cloud_iam", "Cloud IAM"
    CI_SYSTEM = "ci_system", "CI system"
    AGENT_PLATFORM = "agent_platform", "Agent platform"


class WorkloadKind(models.TextChoices):
    AI_AGENT = "ai_agent", "AI agent"
    SERVICE_ACCOUNT = "service_account", "Service account"
    PIPELINE = "pipeline", "Pipeline"
    BOT = "bot", "Bot"


class WorkloadStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    RETIRED = "retired", "Retired"


class SignInScope(models.TextChoices):
    """What failed sign-ins are counted against (identities/signin.py)."""

    ACCOUNT = "account", "Account name"
    ADDRESS = "address", "Client address"
    BEARER = "bearer", "Client address (failed credentials)"


class CredentialSurface(models.TextChoices):
    """The doors a machine credential comes in by; a failure at any of them counts against
    the client's address (scope `bearer`), so a throttled address cannot walk round to another."""

    API = "api", "API key"
    SCIM = "scim", "SCIM token"
    TICKETS = "tickets", "Ticket webhook signature"
    SLACK = "slack", "Slack request signature"
