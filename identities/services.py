"""State changes for identities: API keys, workload registration."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from governance.exceptions import IllegalTransition, InvalidInput

from .models import ApiKey, WorkloadIdentity, hash_api_key

API_KEY_PREFIX = "mdt_"


class IdentityError(InvalidInput):
    """An identity operation that cannot be done, with a message fit for the caller."""


def _new_key():
    """Return (visible prefix, full plaintext key); the prefix is part of the key."""
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


@transaction.atomic
def issue_api_key(*, workload=None, user=None, name="", created_by=None):
    """Create an API key for a workload or a person; return (ApiKey, plaintext).

    The plaintext is returned once and never stored: only its SHA-256 is kept.
    """
    if (workload is None) == (user is None):
        raise IdentityError("An API key belongs to exactly one workload or one person.")
    if workload is not None and not WorkloadIdentity.objects.filter(pk=workload.pk, status="active").exists():
        raise IllegalTransition(f"Workload “{workload}” is not active; no key can be issued.")
    prefix, plaintext = _new_key()
    key = ApiKey.objects.create(
        workload=workload, user=user, name=name, prefix=prefix, key_hash=hash_api_key(plaintext), created_by=created_by
    )
    return key, plaintext


@transaction.atomic
def rotate_api_key(key, *, grace=timedelta(hours=24), rotated_by=None):
    """Issue a replacement key; the old one keeps working for `grace`, then stops."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        raise IllegalTransition("A revoked key cannot be rotated.")
    new_key, plaintext = issue_api_key(workload=key.workload, user=key.user, name=key.name, created_by=rotated_by)
    deadline = timezone.now() + grace
    if key.expires_at is None or key.expires_at > deadline:
        key.expires_at = deadline
        key.save(update_fields=["expires_at"])
    return new_key, plaintext


@transaction.atomic
def revoke_api_key(key):
    """Stop a key at once. Revoking a revoked key is a no-op."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def authenticate_api_key(plaintext):
    """Return the usable ApiKey for `plaintext`, or None. Records `last_used_at`."""
    if not plaintext or not plaintext.startswith(API_KEY_PREFIX):
        return None
    key = ApiKey.objects.select_related("workload", "user").filter(key_hash=hash_api_key(plaintext)).first()
    now = timezone.now()
    if key is None or not key.is_usable(now):
        return None
    # Coarse-grained: one write a minute per key at most, so the hot path stays a read.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        if key.workload_id:
            WorkloadIdentity.objects.filter(pk=key.workload_id).update(last_used_at=now)
    return key


WORKLOAD_FIELDS = (
    "name",
    "slug",
    "kind",
    "description",
    "owner",
    "workflow",
    "identity_source",
    "external_principal",
)


@transaction.atomic
def register_workload(*, by, **fields):
    """Register a workload identity bound to one workflow; `by` owns it unless named."""
    from governance.services import apply_changes, save_validated

    fields.setdefault("owner", by)
    workload = WorkloadIdentity()
    apply_changes(workload, fields, WORKLOAD_FIELDS)
    return save_validated(workload)


@transaction.atomic
def update_workload(workload, *, by, **changes):
    """Change a workload's description, owner or principal. Its workflow never changes."""
    from governance.services import apply_changes, save_validated

    workload = WorkloadIdentity.objects.select_for_update().get(pk=workload.pk)
    if "workflow" in changes and changes["workflow"] != workload.workflow:
        raise InvalidInput(
            "A workload is bound to one workflow for life; register another workload instead.",
            field_errors={"workflow": ["This field cannot be changed."]},
        )
    changes.pop("workflow", None)
    changed = apply_changes(workload, changes, WORKLOAD_FIELDS)
    if changed:
        save_validated(workload, update_fields=[*changed, "updated_at"])
    return workload
