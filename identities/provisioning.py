"""Joiners and movers from identity sources (OpenID Connect, LDAP, SCIM).

A person from a source is matched by the source and the source's own identifier for them
(`User.external_id`): never by e-mail address or user name, so that an account in one
source can never be taken over by a look-alike in another. Leavers go through
`identities.services.deactivate_person`.
"""

import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.exceptions import InvalidInput

from .choices import SourceKind
from .models import DirectoryGroup, IdentitySource, User
from .services import deactivate_person, reactivate_person

PROFILE_FIELDS = ("email", "first_name", "last_name", "display_name")


@dataclass
class PersonRecord:
    """One person as a source describes them. Empty strings mean "the source says nothing"."""

    external_id: str
    username: str
    email: str
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    active: bool = True


@dataclass
class Outcome:
    user: User
    created: bool = False
    changed: list = field(default_factory=list)
    deactivated: bool = False
    reactivated: bool = False

    @property
    def updated(self):
        return bool(self.changed or self.deactivated or self.reactivated) and not self.created


def source_for(slug, kind, name=""):
    """The identity source called `slug`, created (of `kind`) on first use."""
    source = IdentitySource.objects.filter(slug=slug).first()
    if source is not None:
        return source
    name = name or f"{SourceKind(kind).label} ({slug})"
    try:
        with transaction.atomic():
            return IdentitySource.objects.create(slug=slug, name=name, kind=kind)
    except IntegrityError:
        # Created concurrently by another worker, or the name is taken: the slug decides.
        return IdentitySource.objects.get(slug=slug)


def _free_username(wanted, source):
    """`wanted` if nobody has it, else `wanted.<source>`, `wanted.<source>2`…"""
    base = re.sub(r"[^\w.@+-]", "", wanted)[:120] or "person"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}.{source.slug}" if n == 2 else f"{base}.{source.slug}{n - 1}"
    return candidate


def _email_taken(email, exclude_pk=None):
    return User.objects.filter(email__iexact=email).exclude(pk=exclude_pk).exists()


def _uniqueness(field_name, message):
    return InvalidInput(message, field_errors={field_name: [message]}, code="uniqueness")


@transaction.atomic
def upsert_person(source, record, *, by=None, reason="", strict_username=False, email_required=True):
    """Create or update the person `record` describes in `source`; return an `Outcome`.

    `strict_username`: a user name held by someone else is an error (SCIM, where the IdP
    chose it) instead of being made unique (LDAP, OpenID Connect). An e-mail address held
    by someone else is always an error: addresses are unique in Mandate and a person is
    never merged with another account by address. `email_required=False` (SCIM) creates
    a person the source gave no address for, without one. Raises InvalidInput (code
    "uniqueness" for a clash).
    """
    if not record.external_id:
        raise InvalidInput("The source gave no identifier for this person.", field_errors={"external_id": ["Empty."]})
    user = (
        User.objects.select_for_update(no_key=True)
        .filter(identity_source=source, external_id=record.external_id)
        .first()
    )
    if user is None:
        return _create(source, record, strict_username=strict_username, email_required=email_required)
    return _apply(user, record, by=by, reason=reason, strict_username=strict_username)


@transaction.atomic
def update_person(user, record, *, by=None, reason="", strict_username=False, replace=False):
    """Apply `record` to a person already known (SCIM PUT and PATCH), identifier included.

    `replace`: the record is the whole new representation, so an empty field clears it
    (SCIM); otherwise an empty field means "the source says nothing" and is left alone.
    """
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    return _apply(user, record, by=by, reason=reason, strict_username=strict_username, replace=replace)


def _apply(user, record, *, by, reason, strict_username, replace=False):
    source = user.identity_source
    outcome = Outcome(user=user)
    if record.external_id and record.external_id != user.external_id:
        if User.objects.filter(identity_source=source, external_id=record.external_id).exclude(pk=user.pk).exists():
            raise _uniqueness("external_id", f"Another person in {source} has the identifier {record.external_id}.")
        user.external_id = record.external_id
        outcome.changed.append("external_id")
    if record.username and record.username != user.username:
        if not User.objects.filter(username__iexact=record.username).exclude(pk=user.pk).exists():
            user.username = record.username
            outcome.changed.append("username")
        elif strict_username:
            raise _uniqueness("username", f"The user name “{record.username}” is already taken.")
    for name in PROFILE_FIELDS:
        value = getattr(record, name)
        if (not value and not replace) or value == getattr(user, name):
            continue
        if name == "email" and value and _email_taken(value, exclude_pk=user.pk):
            raise _uniqueness("email", f"The e-mail address {value} belongs to another account.")
        setattr(user, name, value)
        outcome.changed.append(name)
    if outcome.changed:
        user.save(update_fields=[*outcome.changed])
    if not record.active and user.is_active:
        deactivate_person(user, by=by, reason=reason or f"Deactivated in {source}.")
        outcome.deactivated = True
    elif record.active and not user.is_active and user.deactivated_by_id is None:
        # Only what a source switched off comes back by itself: someone a person
        # deactivated (an incident, say) stays off until a person decides otherwise.
        reactivate_person(user, by=by, reason=reason or f"Active again in {source}.")
        outcome.reactivated = True
    outcome.user.refresh_from_db()
    return outcome


def _create(source, record, *, strict_username, email_required=True):
    if not record.email and email_required:
        raise InvalidInput("The source gave no e-mail address for this person.", field_errors={"email": ["Empty."]})
    if record.email and _email_taken(record.email):
        raise _uniqueness(
            "email",
            f"The e-mail address {record.email} belongs to an account that is not linked to {source}; "
            "an administrator must link or rename it.",
        )
    username = record.username or record.email.split("@")[0] or record.external_id
    if strict_username and User.objects.filter(username__iexact=username).exists():
        raise _uniqueness("username", f"The user name “{username}” is already taken.")
    user = User(
        username=username if strict_username else _free_username(username, source),
        email=record.email,
        first_name=record.first_name,
        last_name=record.last_name,
        display_name=record.display_name,
        identity_source=source,
        external_id=record.external_id,
        is_active=record.active,
    )
    if not record.active:
        user.deactivated_at = timezone.now()
        user.deactivation_reason = f"Inactive in {source} when first seen."
    # People from a source sign in through it, never with a Mandate password.
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise _uniqueness("external_id", f"This person was created in {source} at the same moment; retry.")
    return Outcome(user=user, created=True)


@transaction.atomic
def link_person(user, source, external_id):
    """Attach an existing local account to `source` as `external_id` (an explicit take-over)."""
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if user.external_id and (user.identity_source_id, user.external_id) != (source.pk, external_id):
        raise InvalidInput(f"{user} is already linked to {user.identity_source}.", code="uniqueness")
    user.identity_source = source
    user.external_id = external_id
    user.save(update_fields=["identity_source", "external_id"])
    return user


@transaction.atomic
def set_manager(user, manager):
    """Record `user`'s line manager as the source reports it (None: no manager)."""
    if manager is not None and manager.pk == user.pk:
        raise InvalidInput("A person cannot be their own manager.", field_errors={"manager": ["Self."]})
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if user.manager_id == (manager.pk if manager else None):
        return False
    user.manager = manager
    user.save(update_fields=["manager"])
    return True


@transaction.atomic
def forget_person(user, *, by=None, reason):
    """The source deleted the person: deactivate, and detach them from the source's identifier.

    The account stays (the audit trail points at it); the source can no longer find it,
    and may create someone new with the same identifier.
    """

    deactivate_person(user, by=by, reason=reason)
    User.objects.filter(pk=user.pk).update(external_id="")
    for group in user.directory_groups.all():
        group.members.remove(user)
        group.save(update_fields=["updated_at"])


# --- Groups -------------------------------------------------------------------------


@transaction.atomic
def save_group(source, *, group=None, display_name, external_id="", member_ids=None):
    """Create (group=None) or rename a directory group; replace its external id and, when given, its members.

    Members must be people of the same source. Raises InvalidInput.
    """
    clash = DirectoryGroup.objects.filter(identity_source=source, display_name__iexact=display_name)
    if group is not None:
        group = DirectoryGroup.objects.select_for_update().get(pk=group.pk)
        clash = clash.exclude(pk=group.pk)
    if not display_name:
        raise InvalidInput("A group needs a display name.", field_errors={"displayName": ["Empty."]})
    if clash.exists():
        raise _uniqueness("displayName", f"{source} already has a group called “{display_name}”.")
    if group is None:
        group = DirectoryGroup(identity_source=source)
    group.display_name = display_name
    group.external_id = external_id
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:
        raise _uniqueness("externalId", f"{source} already has a group with the identifier {external_id}.")
    if member_ids is not None:
        group.members.set(_members_of(source, member_ids))
    return group


@transaction.atomic
def change_group_members(group, *, add=(), remove=()):
    """Add and remove members (people of the group's source) of a directory group."""
    group = DirectoryGroup.objects.select_for_update().get(pk=group.pk)
    if add:
        group.members.add(*_members_of(group.identity_source, add))
    if remove:
        group.members.remove(*User.objects.filter(pk__in=[int(pk) for pk in remove if str(pk).isdigit()]))
    if add or remove:
        group.save(update_fields=["updated_at"])
    return group


def _members_of(source, member_ids):
    ids = {int(pk) for pk in member_ids if str(pk).isdigit()}
    people = list(User.objects.filter(identity_source=source, pk__in=ids).exclude(external_id=""))
    unknown = sorted(ids - {person.pk for person in people}) + [pk for pk in member_ids if not str(pk).isdigit()]
    if unknown:
        message = f"Unknown members: {', '.join(str(pk) for pk in unknown)}."
        raise InvalidInput(message, field_errors={"members": [message]}, code="noTarget")
    return people
