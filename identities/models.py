"""People, the sources that are authoritative for them, and non-human workload identities."""

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from .choices import CredentialSurface, SignInScope, SourceKind, WorkloadKind, WorkloadStatus


class IdentitySource(models.Model):
    """Where identities are authoritative: local accounts, an IdP, a directory, SCIM…"""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=SourceKind.choices, default=SourceKind.LOCAL)
    authoritative = models.BooleanField(
        default=True, help_text="Changes from this source (joiners, movers, leavers) are applied to Mandate."
    )
    description = models.TextField(blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True, help_text="When a directory sync last finished.")
    last_sync_result = models.JSONField(default=dict, blank=True, help_text="Counts of the last directory sync.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class User(AbstractUser):
    """A person. Belongs to one identity source, which is authoritative for it."""

    # Unique when given. A directory may provision a person without one (SCIM): such a
    # person gets no e-mail from Mandate and is listed under "E-mail address: missing".
    email = models.EmailField("email address", blank=True)
    display_name = models.CharField(max_length=150, blank=True)
    identity_source = models.ForeignKey(
        IdentitySource, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    external_id = models.CharField(
        max_length=255, blank=True, help_text="The person's identifier in the identity source (subject, DN, SCIM id)."
    )
    manager = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        help_text="Line manager, as the identity source reports it.",
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who switched the account off; empty when the identity source did.",
    )
    deactivation_reason = models.TextField(blank=True)

    objects = UserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity_source", "external_id"],
                condition=~Q(external_id=""),
                name="user_unique_external_id_per_source",
            ),
            models.UniqueConstraint(fields=["email"], condition=~Q(email=""), name="user_unique_email_when_given"),
        ]
        permissions = [("audit_all", "Can read everything as a security auditor")]

    def __str__(self):
        return self.display_name or self.get_full_name() or self.username

    @property
    def label(self):
        return f"{self} <{self.email}>" if self.email else str(self)


class WorkloadIdentity(models.Model):
    """A non-human identity (AI agent, service account, pipeline, bot).

    Bound to exactly one workflow and owned by one person. Authenticates to the API with
    hashed API keys (`ApiKey`) and, per grant, a short-lived signed token.
    """

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=WorkloadKind.choices, default=WorkloadKind.AI_AGENT)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_workloads")
    workflow = models.ForeignKey("governance.Workflow", on_delete=models.PROTECT, related_name="workloads")
    identity_source = models.ForeignKey(
        IdentitySource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workloads",
        help_text="Where this workload's identity is authoritative (cloud IAM, CI system, agent platform).",
    )
    external_principal = models.CharField(
        max_length=255,
        blank=True,
        help_text="The principal name in that source, e.g. an IAM role ARN or a CI service account.",
    )
    status = models.CharField(max_length=20, choices=WorkloadStatus.choices, default=WorkloadStatus.ACTIVE)
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "workload identity"
        verbose_name_plural = "workload identities"
        indexes = [models.Index(fields=["external_principal"], name="workload_principal_idx")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("identities:workload_detail", args=[self.slug])

    @property
    def is_active(self):
        return self.status == WorkloadStatus.ACTIVE

    def clean(self):
        errors = {}
        if self.owner_id and not self.owner.is_active:
            errors["owner"] = "The owner must be an active person."
        if self.external_principal and self.workflow_id:
            shared = (
                WorkloadIdentity.objects.filter(external_principal=self.external_principal)
                .exclude(workflow_id=self.workflow_id)
                .exclude(pk=self.pk)
                .select_related("workflow")
                .first()
            )
            if shared:
                errors["external_principal"] = (
                    f"“{self.external_principal}” is already used by {shared} in workflow "
                    f"“{shared.workflow}”: one identity shared by several workflows cannot be governed."
                )
        if errors:
            raise ValidationError(errors)


class DirectoryGroup(models.Model):
    """A group of people as an identity source reports it (LDAP group, SCIM group).

    Informational: it records who the source says belongs together; it grants nothing in
    Mandate by itself.
    """

    identity_source = models.ForeignKey(IdentitySource, on_delete=models.CASCADE, related_name="groups")
    external_id = models.CharField(max_length=255, blank=True, help_text="The group's identifier in the source.")
    display_name = models.CharField(max_length=255)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="directory_groups")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identity_source__name", "display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity_source", "external_id"],
                condition=~Q(external_id=""),
                name="group_unique_external_id_per_source",
            ),
        ]

    def __str__(self):
        return self.display_name


class ProvisioningToken(models.Model):
    """A bearer token an identity provider uses to push people into one identity source (SCIM).

    Only the SHA-256 of the token is stored; the token is shown once when issued.
    """

    identity_source = models.ForeignKey(IdentitySource, on_delete=models.CASCADE, related_name="provisioning_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=24, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.identity_source})"


def hash_api_key(plaintext: str) -> str:
    """SHA-256 of an API key. Keys carry 256 bits of randomness, so a fast hash is enough."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


class ApiKey(models.Model):
    """An API key for a workload (or, later, a person's personal access token).

    Only the hash is stored; the key is shown once. `prefix` is the visible part that lets
    people tell keys apart in lists and logs.
    """

    workload = models.ForeignKey(
        WorkloadIdentity, on_delete=models.CASCADE, null=True, blank=True, related_name="api_keys"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=24, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set when the key is rotated (grace period).")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=Q(workload__isnull=False, user__isnull=True) | Q(workload__isnull=True, user__isnull=False),
                name="apikey_exactly_one_holder",
            ),
        ]

    def __str__(self):
        return f"{self.prefix}…"

    def is_usable(self, now):
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class SignInThrottle(models.Model):
    """Failed sign-ins against one account name or one client address, and what they earned:
    a wait before the next attempt (`blocked_until`) or a lockout (`locked_at`, until
    `locked_until`, or until an administrator lifts it when that is empty).

    Keyed by the name as typed, whether or not such an account exists, so the answers
    never tell an account that exists from one that does not. Changes are in the change
    log (auditlog): each counted failure, each lockout and who lifted it.
    """

    scope = models.CharField(max_length=8, choices=SignInScope.choices)
    key = models.CharField(max_length=150, help_text="The account name (lower case) or the client address.")
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    blocked_until = models.DateTimeField(null=True, blank=True, help_text="No attempt is checked before this.")
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True, help_text="Empty while locked: until lifted.")
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Scope `bearer` only: bursts over API_AUTH_FAILURE_RATE since the last lift or quiet
    # period (each doubles the wait; the lockout comes at API_AUTH_FAILURE_LOCKOUT_BURSTS),
    # and the door the last one came in by.
    bursts = models.PositiveIntegerField(default=0)
    surface = models.CharField(max_length=8, choices=CredentialSurface.choices, blank=True)

    class Meta:
        ordering = ["-last_failure_at"]
        verbose_name = "sign-in throttle"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="signinthrottle_one_per_key")]

    def __str__(self):
        return f"{self.get_scope_display()} {self.key}"

    def is_locked(self, now):
        return self.locked_at is not None and (self.locked_until is None or self.locked_until > now)
