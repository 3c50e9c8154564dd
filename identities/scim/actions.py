"""What each SCIM write does, in one transaction per request, through the provisioning services.

People are never deleted: DELETE deactivates them (their access goes, see
`deactivate_person`) and detaches them from the IdP's identifiers, so the audit trail
keeps pointing at a real account while SCIM answers 404 from then on.
"""

import uuid

from django.db import transaction

from governance.exceptions import InvalidInput

from ..models import DirectoryGroup, User
from ..provisioning import (
    PersonRecord,
    change_group_members,
    forget_person,
    save_group,
    set_manager,
    update_person,
    upsert_person,
)
from . import resources
from .resources import ScimError


def people(source):
    """The people this source provisioned and has not deleted."""
    return User.objects.filter(identity_source=source).exclude(external_id="")


def groups(source):
    return DirectoryGroup.objects.filter(identity_source=source)


def _scim_error(exc):
    if exc.code == "uniqueness":
        return ScimError(409, exc.message, "uniqueness")
    return ScimError(400, exc.message, "noTarget" if exc.code == "noTarget" else "invalidValue")


def _record(resource, *, external_id, active):
    name = resource.get("name") or {}
    if not isinstance(name, dict):
        raise ScimError(400, "“name” must be an object.", "invalidValue")
    user_name = resource.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise ScimError(400, "“userName” is required.", "invalidValue")
    return PersonRecord(
        external_id=external_id,
        username=user_name.strip(),
        email=resources.primary_email(resource).strip(),
        first_name=name.get("givenName") or "",
        last_name=name.get("familyName") or "",
        display_name=resource.get("displayName") or name.get("formatted") or "",
        active=resources.as_bool(resource["active"]) if "active" in resource else active,
    )


def _apply_manager(source, user, resource):
    wanted = resources.manager_id(resource)
    if wanted is None:
        return
    manager = None
    if wanted:
        manager = people(source).filter(pk=int(wanted) if wanted.isdigit() else None).first()
        if manager is None:
            raise ScimError(400, f"Unknown manager {wanted}.", "invalidValue")
    try:
        set_manager(user, manager)
    except InvalidInput as exc:
        raise _scim_error(exc)


def find_person(source, pk):
    user = people(source).filter(pk=int(pk)).first() if str(pk).isdigit() else None
    if user is None:
        raise ScimError(404, f"User {pk} not found.")
    return user


def find_group(source, pk):
    group = groups(source).filter(pk=int(pk)).first() if str(pk).isdigit() else None
    if group is None:
        raise ScimError(404, f"Group {pk} not found.")
    return group


@transaction.atomic
def create_person(source, resource):
    external_id = str(resource.get("externalId") or "").strip()
    if external_id and people(source).filter(external_id=external_id).exists():
        raise ScimError(409, f"A user with externalId {external_id} already exists.", "uniqueness")
    record = _record(resource, external_id=external_id or f"{resources.GENERATED_ID_PREFIX}{uuid.uuid4()}", active=True)
    try:
        user = upsert_person(source, record, strict_username=True, reason="Provisioned inactive by SCIM.").user
    except InvalidInput as exc:
        raise _scim_error(exc)
    _apply_manager(source, user, resource)
    return user


@transaction.atomic
def replace_person(source, user, resource, *, reason="Deactivated by the identity provider (SCIM)."):
    """PUT, and PATCH once its operations are applied to the current representation."""
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    external_id = str(resource.get("externalId") or "").strip() or user.external_id
    record = _record(resource, external_id=external_id, active=user.is_active)
    try:
        update_person(user, record, strict_username=True, reason=reason)
    except InvalidInput as exc:
        raise _scim_error(exc)
    _apply_manager(source, user, resource)
    user.refresh_from_db()
    return user


@transaction.atomic
def patch_person(source, user, body, location):
    # Lock first: the operations apply to the representation as it is now.
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    patched = resources.patch_user(resources.user_resource(user, location), resources.operations(body))
    return replace_person(source, user, patched)


@transaction.atomic
def delete_person(source, user):
    forget_person(user, reason="Deleted by the identity provider (SCIM).")


@transaction.atomic
def create_group(source, resource):
    try:
        return save_group(
            source,
            display_name=str(resource.get("displayName") or "").strip(),
            external_id=str(resource.get("externalId") or "").strip(),
            member_ids=resources.member_ids(resource.get("members") or []),
        )
    except InvalidInput as exc:
        raise _scim_error(exc)


@transaction.atomic
def replace_group(source, group, resource):
    try:
        return save_group(
            source,
            group=group,
            display_name=str(resource.get("displayName") or "").strip(),
            external_id=str(resource.get("externalId") or "").strip(),
            member_ids=resources.member_ids(resource.get("members") or []),
        )
    except InvalidInput as exc:
        raise _scim_error(exc)


@transaction.atomic
def patch_group(source, group, body):
    display_name, add, remove, replace = resources.patch_group(resources.operations(body))
    try:
        if display_name is not None or replace is not None:
            group = save_group(
                source,
                group=group,
                display_name=(display_name if display_name is not None else group.display_name).strip(),
                member_ids=replace,
            )
        if add or remove:
            group = change_group_members(group, add=add, remove=remove)
    except InvalidInput as exc:
        raise _scim_error(exc)
    return group


@transaction.atomic
def delete_group(source, group):
    # Groups grant nothing in Mandate; deleting one loses no evidence (the change log keeps it).
    group.delete()
