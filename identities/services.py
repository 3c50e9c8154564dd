"""State changes for identities: API keys, workload registration, provisioning tokens,
leavers and returners."""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from governance import permissions
from governance.exceptions import IllegalTransition, InvalidInput, NotAllowed
from governance.models import Workflow
from governance.models.statements import hot_cursor
from governance.services import apply_changes, check_owners, save_validated

from .choices import WorkloadKind
from .leavers import deactivate_person, reactivate_person
from .models import ApiKey, ProvisioningToken, User, WorkloadIdentity, hash_api_key

# The leaver cascade lives in its own module; it is part of this service API.
__all__ = [
    "IdentityError",
    "authenticate_api_key",
    "authenticate_provisioning_token",
    "deactivate_person",
    "issue_api_key",
    "issue_provisioning_token",
    "reactivate_person",
    "register_workload",
    "revoke_api_key",
    "revoke_provisioning_token",
    "rotate_api_key",
    "shared_external_principals",
    "update_workload",
]

API_KEY_PREFIX = "mdt_"
PROVISIONING_TOKEN_PREFIX = "mdp_"


class IdentityError(InvalidInput):
    """An identity operation that cannot be done, with a message fit for the caller."""


def _new_key(kind_prefix=API_KEY_PREFIX):
    """Return (visible prefix, full plaintext key); the prefix is part of the key."""
    prefix = kind_prefix + secrets.token_hex(4)
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


STAMP_INTERVAL = timedelta(minutes=1)


def _record_use(model, obj, now):
    """Stamp `last_used_at` at most once a minute, so authenticating stays a read."""
    if obj.last_used_at is None or now - obj.last_used_at > STAMP_INTERVAL:
        model.objects.filter(pk=obj.pk).update(last_used_at=now)
        obj.last_used_at = now
        return True
    return False


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


_KEY_QUERY = {}


def _key_with_holder(key_hash):
    """The ApiKey with its workload and person attached, in one statement, or None.

    What `select_related("workload", "user")` sends, with the SQL built once per process:
    every API call authenticates, and compiling the queryset cost more than the answer.
    """
    if not _KEY_QUERY:
        parts = [(ApiKey, "k", None), (WorkloadIdentity, "wl", "workload_id"), (User, "u", "user_id")]
        select, joins = [], []
        for model, alias, via in parts:
            select += [f"{alias}.{connection.ops.quote_name(f.column)}" for f in model._meta.concrete_fields]
            if via:
                joins.append(f"LEFT JOIN {model._meta.db_table} {alias} ON {alias}.id = k.{via}")
        _KEY_QUERY["sql"] = (
            f"SELECT {', '.join(select)} FROM {ApiKey._meta.db_table} k {' '.join(joins)} "  # noqa: S608
            "WHERE k.key_hash = %s LIMIT 1"
        )
        _KEY_QUERY["parts"] = [_loader(model) for model, _, _ in parts]
    with hot_cursor() as cursor:
        cursor.execute(_KEY_QUERY["sql"], [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    objects, start = [], 0
    for model, names, converters in _KEY_QUERY["parts"]:
        values = list(row[start : start + len(names)])
        start += len(names)
        for index, expression, functions in converters:
            for convert in functions:
                values[index] = convert(values[index], expression, connection)
        objects.append(model.from_db(connection.alias, names, values))
    key, workload, user = objects
    key._state.fields_cache["workload"] = workload if key.workload_id else None
    key._state.fields_cache["user"] = user if key.user_id else None
    return key


def _loader(model):
    """(model, attnames, converters): the backend's and the fields' converters, as the ORM applies them."""
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        expression = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if functions:
            converters.append((index, expression, functions))
    return model, [f.attname for f in fields], converters


def authenticate_api_key(plaintext):
    """Return the usable ApiKey for `plaintext`, or None. Records `last_used_at`."""
    if not plaintext or not plaintext.startswith(API_KEY_PREFIX):
        return None
    key_hash = hash_api_key(plaintext)
    key = _key_with_holder(key_hash)
    now = timezone.now()
    if key is None or not key.is_usable(now):
        _REMEMBERED.pop(key_hash, None)
        return None
    if _record_use(ApiKey, key, now) and key.workload_id:
        WorkloadIdentity.objects.filter(pk=key.workload_id).update(last_used_at=now)
    if key.workload_id:
        if len(_REMEMBERED) >= REMEMBERED_MAX:
            _REMEMBERED.clear()
        _REMEMBERED[key_hash] = key
    return key


# Workload keys this process authenticated, by hash, as read then (with their workload).
# Only the authorization check reads them (`remembered_workload_key`), and it verifies the
# key again in its own statement; nothing else trusts a remembered key.
_REMEMBERED = {}
REMEMBERED_MAX = 2_000


def remembered_workload_key(plaintext):
    """The workload ApiKey this process authenticated for `plaintext` in the last minute, or None.

    Not a verification: the key may have been revoked or have expired since, and its
    workload suspended. The caller must check the key, the workload and its status in the
    statement it runs on their behalf (`approvals.services.authorization`, `key_id`); that
    is what lets the authorization check skip the key's own round trip and still refuse a
    revoked key on the very next call. A key not stamped within the last minute (its
    `last_used_at`) is authenticated again, which stamps it: the stamping is unchanged.
    """
    if not plaintext or not plaintext.startswith(API_KEY_PREFIX):
        return None
    key = _REMEMBERED.get(hash_api_key(plaintext))
    if key is None or key.last_used_at is None or timezone.now() - key.last_used_at > STAMP_INTERVAL:
        return None
    return key


def forget_api_key(key):
    """Drop a key this process remembered (`remembered_workload_key`): it no longer holds."""
    _REMEMBERED.pop(key.key_hash, None)


# --- Workloads ----------------------------------------------------------------------


def _lock_principal(principal):
    """Serialise registrations of one external principal across workflows.

    The shared-principal rule reads other rows, which a row lock cannot guard before they
    exist; a transaction-scoped advisory lock on the name does. SQLite takes the database
    write lock at the start of the transaction, which serialises writers anyway.
    """
    if principal and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"workload-principal:{principal}"])


# What a person fills in to register a workload; the form and the API use the same list.
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
def register_workload(
    *,
    by=None,
    workflow,
    owner,
    name,
    slug,
    kind=WorkloadKind.AI_AGENT,
    identity_source=None,
    external_principal="",
    description="",
):
    """Register a workload identity in `workflow`, owned by `owner`; return it.

    `by` is the person registering it (None for trusted callers such as the admin or a
    sync): only the workflow's owners may bind workloads to it. Refused (InvalidInput,
    with field errors) when the workflow is retired or has no
    control owner, the owner is not an active person, or the external principal is
    already used by a workload of another workflow: one identity shared by several AI
    tools cannot be governed.
    """
    external_principal = (external_principal or "").strip()
    _lock_principal(external_principal)
    workflow = Workflow.objects.select_for_update(no_key=True).filter(pk=getattr(workflow, "pk", workflow)).first()
    if workflow is None:
        raise InvalidInput("Unknown workflow.", field_errors={"workflow": ["Unknown workflow."]})
    if by is not None and not permissions.can_register_workload(by, workflow):
        raise NotAllowed(f"Only the owners of “{workflow}” may bind workloads to it.")
    if workflow.status == "retired" or workflow.control_owner_id is None:
        message = f"Workflow “{workflow}” is {'retired' if workflow.status == 'retired' else 'unowned'}."
        raise InvalidInput(message, field_errors={"workflow": [message]})
    check_owners({"owner": owner}, names=("owner",))
    _check_self_named_owner(by, workflow, owner)
    workload = WorkloadIdentity(
        workflow=workflow,
        owner=owner,
        name=name,
        slug=slug,
        kind=kind,
        identity_source=identity_source,
        external_principal=external_principal,
        description=description,
    )
    try:
        workload.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
        raise InvalidInput(" ".join(m for messages in errors.values() for m in messages), field_errors=errors)
    workload.save()
    return workload


@transaction.atomic
def update_workload(workload, *, by, **changes):
    """Change a workload's description, owner or principal. Its workflow never changes."""
    workload = WorkloadIdentity.objects.select_for_update(no_key=True).get(pk=workload.pk)
    if by is not None and not permissions.can_change_workload(by, workload):
        raise NotAllowed(f"You may not change “{workload}”.")
    if "workflow" in changes and changes["workflow"] != workload.workflow:
        raise InvalidInput(
            "A workload is bound to one workflow for life; register another workload instead.",
            field_errors={"workflow": ["This field cannot be changed."]},
        )
    changes.pop("workflow", None)
    check_owners(changes, names=("owner",))
    _check_self_named_owner(by, workload.workflow, changes.get("owner"), current_owner_id=workload.owner_id)
    changed = apply_changes(workload, changes, WORKLOAD_FIELDS)
    if changed:
        save_validated(workload, update_fields=[*changed, "updated_at"])
    return workload


def _check_self_named_owner(by, workflow, owner, current_owner_id=None):
    """The security team changes any workload's registration, but a person naming themselves
    owner of a workload in a workflow they do not own would get its keys and its grants."""
    if by is None or owner is None or owner.pk != by.pk or owner.pk == current_owner_id:
        return
    if not permissions.can_manage_workflow(by, workflow):
        message = f"Only the owners of “{workflow}” may name themselves owner of its workloads."
        raise NotAllowed(message, field_errors={"owner": [message]})


def shared_external_principals():
    """Principals used by workloads of more than one workflow: {principal: [workloads]}.

    Registration refuses new ones; this finds those that predate the rule or were written
    around it.
    """
    shared = (
        WorkloadIdentity.objects.exclude(external_principal="")
        .values("external_principal")
        .annotate(workflows=Count("workflow", distinct=True))
        .filter(workflows__gt=1)
        .values_list("external_principal", flat=True)
    )
    found = {}
    for workload in WorkloadIdentity.objects.filter(external_principal__in=list(shared)).select_related("workflow"):
        found.setdefault(workload.external_principal, []).append(workload)
    return found


# --- Provisioning tokens (SCIM) -----------------------------------------------------


@transaction.atomic
def issue_provisioning_token(source, *, name="", created_by=None):
    """Create a bearer token for pushing people into `source`; return (token, plaintext).

    The plaintext is returned once; only its SHA-256 is stored.
    """
    prefix, plaintext = _new_key(PROVISIONING_TOKEN_PREFIX)
    token = ProvisioningToken.objects.create(
        identity_source=source, name=name, prefix=prefix, token_hash=hash_api_key(plaintext), created_by=created_by
    )
    return token, plaintext


@transaction.atomic
def revoke_provisioning_token(token):
    """Stop a provisioning token at once. Revoking a revoked token is a no-op."""
    ProvisioningToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def authenticate_provisioning_token(plaintext):
    """Return the unrevoked ProvisioningToken for `plaintext`, or None."""
    if not plaintext or not plaintext.startswith(PROVISIONING_TOKEN_PREFIX):
        return None
    token = (
        ProvisioningToken.objects.select_related("identity_source")
        .filter(token_hash=hash_api_key(plaintext), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    _record_use(ProvisioningToken, token, timezone.now())
    return token
