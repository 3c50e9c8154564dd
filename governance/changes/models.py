"""A registry change waiting for, or decided by, someone other than its author."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from governance.choices import ChangeKind, ChangeState


class RegistryChange(models.Model):
    """A change to the registry that widens access: activating a workflow, naming its
    owners, lowering its risk tier, adding an entitlement to it (a policy), widening a
    policy, or widening an entitlement. It takes effect only when approved by someone
    other than its author: the entitlement's resource owner for entitlements and their
    policies, a registry administrator (the security team) for the rest.

    `changes` holds the new values as plain JSON (primary keys for people, workflows and
    entitlements), `before` the values they replace, so the decision shows exactly what
    changes and an approval applies exactly that.
    """

    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    state = models.CharField(max_length=10, choices=ChangeState.choices, default=ChangeState.PENDING)
    workflow = models.ForeignKey(
        "governance.Workflow", on_delete=models.CASCADE, null=True, blank=True, related_name="registry_changes"
    )
    entitlement = models.ForeignKey(
        "governance.Entitlement", on_delete=models.CASCADE, null=True, blank=True, related_name="registry_changes"
    )
    policy = models.ForeignKey(
        "governance.Policy", on_delete=models.SET_NULL, null=True, blank=True, related_name="registry_changes"
    )
    changes = models.JSONField(default=dict)
    before = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=400)
    reasons = models.JSONField(default=list, help_text="Why this change needs a second person.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, help_text="The decider's comment (a denial's reason).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("decide_registry_changes", "Can approve registry changes (security team)")]
        constraints = [
            # The four-eyes rule held by the database too: nobody decides their own change.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("author")),
                name="registrychange_decider_not_author",
            ),
            models.CheckConstraint(
                condition=Q(state="pending", decided_at__isnull=True)
                | (~Q(state="pending") & Q(decided_at__isnull=False)),
                name="registrychange_decided_when_closed",
            ),
        ]
        indexes = [models.Index(fields=["state", "kind"], name="registrychange_state_idx")]

    def __str__(self):
        return f"Change #{self.pk}: {self.summary}"

    def get_absolute_url(self):
        return reverse("governance:change_detail", args=[self.pk])

    # Lets a caller holding "the object or the change filed instead" tell which it has.
    is_registry_change = True

    @property
    def is_pending(self):
        return self.state == ChangeState.PENDING

    @property
    def is_entitlement_change(self):
        """Decided by the entitlement's resource owner (else the security team)."""
        return self.kind in (ChangeKind.ADD_POLICY, ChangeKind.WIDEN_POLICY)
