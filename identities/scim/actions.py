"""What each SCIM write does, in one transaction per request, through the provisioning services.

People are never deleted: DELETE deactivates them (their access goes, see
`deactivate_person`) and detaches them from the IdP's identifiers, so the audit trail
keeps pointing at a real account while SCIM answers 404 from then on.
"""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from governance.exceptions import InvalidInput

from ..models import DirectoryGroup, User
from ..provisioning import (
    PersonRecord,
    forget_person,
    save_group,
    set_manager,
    update_person,
    upsert_person,
)
from . import protocol, resources
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


def _text(value, attribute, field_name, model=User):
    """A string attribute that fits its column; anything else is a 400, never a 500."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ScimError(400, f"“{attribute}” must be a string.", "invalidValue")
    value = value.strip()
    limit = model._meta.get_field(field_name).max_length
    if len(value) > limit:
        raise ScimError(400, f"“{attribute}” is longer than {limit} characters.", "invalidValue")
    return value


def _record(resource, *, external_id, active):
    name = resource.get("name") or {}
    if not isinstance(name, dict):
        raise ScimError(400, "“name” must be an object.", "invalidValue")
    user_name = _text(resource.get("userName"), "userName", "username")
    if not user_name:
        raise ScimError(400, "“userName” is required.", "invalidValue")
    email = _text(resources.primary_email(resource), "emails.value", "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ScimError(400, f"“{email}” is not an e-mail address.", "invalidValue")
    return PersonRecord(
        external_id=_text(external_id, "externalId", "external_id"),
        username=user_name,
        email=email,
        first_name=_text(name.get("givenName"), "name.givenName", "first_name"),
        last_name=_text(name.get("familyName"), "name.familyName", "last_name"),
        display_name=_text(resource.get("displayName") or name.get("formatted"), "displayName", "display_name"),
        active=resources.as_bool(resource["active"]) if resource.get("active") is not None else active,
    )


def _apply_manager(source, user, resource, *, replace=False):
    wanted = resources.manager_id(resource)
    if wanted is None and not replace:
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
    external_id = _text(resource.get("externalId"), "externalId", "external_id")
    if external_id and people(source).filter(external_id=external_id).exists():
        raise ScimError(409, f"A user with externalId {external_id} already exists.", "uniqueness")
    record = _record(resource, external_id=external_id or f"{resources.GENERATED_ID_PREFIX}{uuid.uuid4()}", active=True)
    try:
        # A person without an e-mail address is created all the same (see `User.email`).
        user = upsert_person(
            source, record, strict_username=True, email_required=False, reason="Provisioned inactive by SCIM."
        ).user
    except InvalidInput as exc:
        raise _scim_error(exc)
    _apply_manager(source, user, resource)
    return user


@transaction.atomic
def replace_person(source, user, resource, *, reason="Deactivated by the identity provider (SCIM)."):
    """PUT, and PATCH once its operations are applied to the current representation."""
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    # The source's identifier is how Mandate finds the person again: one the IdP removes
    # is replaced by a generated one, never left empty (an empty one means "deleted").
    external_id = _text(resource.get("externalId"), "externalId", "external_id")
    if not external_id:
        generated = user.external_id.startswith(resources.GENERATED_ID_PREFIX)
        external_id = user.external_id if generated else f"{resources.GENERATED_ID_PREFIX}{uuid.uuid4()}"
    record = _record(resource, external_id=external_id, active=user.is_active)
    try:
        update_person(user, record, strict_username=True, reason=reason, replace=True)
    except InvalidInput as exc:
        raise _scim_error(exc)
    _apply_manager(source, user, resource, replace=True)
    user.refresh_from_db()
    return user


@transaction.atomic
def patch_person(source, user, body, location):
    # Lock first: the operations apply to the representation as it is now.
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    current = resources.user_resource(user, location)
    patched = protocol.patch_user(current, body)
    if patched.get("active") is None:
        raise ScimError(400, "“active” cannot be removed: a person is active or not.", "mutability")
    return replace_person(source, user, patched)


@transaction.atomic
def delete_person(source, user):
    forget_person(user, reason="Deleted by the identity provider (SCIM).")


@transaction.atomic
def create_group(source, resource):
    try:
        return save_group(
            source,
            display_name=_text(resource.get("displayName"), "displayName", "display_name", DirectoryGroup),
            external_id=_text(resource.get("externalId"), "externalId", "external_id", DirectoryGroup),
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
            display_name=_text(resource.get("displayName"), "displayName", "display_name", DirectoryGroup),
            external_id=_text(resource.get("externalId"), "externalId", "external_id", DirectoryGroup),
            member_ids=resources.member_ids(resource.get("members") or []),
        )
    except InvalidInput as exc:
        raise _scim_error(exc)


@transaction.atomic
def patch_group(source, group, body, location):
    # Lock first: the operations apply to the group as it is now, members included.
    group = DirectoryGroup.objects.select_for_update().get(pk=group.pk)
    patched = protocol.patch_group(resources.group_resource(group, location), body)
    return replace_group(source, group, {"members": [], **patched})


@transaction.atomic
def delete_group(source, group):
    # Groups grant nothing in Mandate; deleting one loses no evidence (the change log keeps it).
    group.delete()
