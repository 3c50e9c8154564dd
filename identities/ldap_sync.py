"""LDAP directory sync: people (with manager and groups) from a base DN and filter.

Each run reads every matching entry, then applies only the differences: new people are
created, changed attributes updated, people no longer in the directory deactivated
(through `deactivate_person`, so their access goes with them), returning people
reactivated (nothing else comes back). Running it twice changes nothing the second time.
People are matched by a stable identifier (entryUUID by default), so a renamed or moved
entry stays the same person.
"""

import contextlib
import logging
import ssl
import uuid
from dataclasses import dataclass, field

import ldap3
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from ldap3.core.exceptions import LDAPException

from governance.exceptions import InvalidInput

from .choices import SourceKind
from .models import DirectoryGroup, User
from .provisioning import PersonRecord, set_manager, source_for, upsert_person
from .services import deactivate_person

logger = logging.getLogger(__name__)


class DirectoryError(Exception):
    """The directory could not be read, or the sync refused to act on what it read."""


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    reactivated: int = 0
    failed: int = 0
    groups: int = 0
    errors: list = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "reactivated": self.reactivated,
            "failed": self.failed,
            "groups": self.groups,
            "errors": self.errors[:50],
            "dry_run": self.dry_run,
        }

    def __str__(self):
        return (
            f"{self.created} created, {self.updated} updated, {self.deactivated} deactivated, "
            f"{self.reactivated} reactivated, {self.unchanged} unchanged, {self.failed} failed"
        )


@dataclass
class DirectoryEntry:
    dn: str
    record: PersonRecord
    manager_dn: str | None  # None: the directory is not asked for managers
    group_dns: list


def _text(raw, *, identifier=False):
    """One attribute value as text; binary identifiers (Active Directory objectGUID) as a UUID."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if identifier and len(raw) == 16:
            return str(uuid.UUID(bytes_le=raw))
        return raw.hex()


def _normal_dn(dn):
    return ",".join(part.strip() for part in dn.split(",")).lower()


def _first_rdn_value(dn):
    return dn.split(",", 1)[0].split("=", 1)[-1].strip()


def connect():
    """A bound, read-only ldap3 connection from settings. Raises DirectoryError."""
    url = settings.LDAP_SYNC_URL
    tls = None
    if url.startswith("ldaps://") or settings.LDAP_SYNC_START_TLS:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.LDAP_SYNC_CA_FILE or None)
    server = ldap3.Server(url, use_ssl=url.startswith("ldaps://"), tls=tls, connect_timeout=settings.LDAP_SYNC_TIMEOUT)
    try:
        return ldap3.Connection(
            server,
            user=settings.LDAP_SYNC_BIND_DN or None,
            password=settings.LDAP_SYNC_BIND_PASSWORD or None,
            auto_bind=ldap3.AUTO_BIND_TLS_BEFORE_BIND if settings.LDAP_SYNC_START_TLS else ldap3.AUTO_BIND_NO_TLS,
            read_only=True,
            receive_timeout=settings.LDAP_SYNC_TIMEOUT,
            raise_exceptions=True,
        )
    except LDAPException as exc:
        # The password is never part of the message: ldap3 reports the result code only.
        raise DirectoryError(f"Cannot bind to {url} as {settings.LDAP_SYNC_BIND_DN or 'anonymous'}: {exc}") from exc


def read_directory(connection):
    """Every entry under the base DN that matches the filter, as DirectoryEntry objects."""
    mapping = {key: value for key, value in settings.LDAP_SYNC_ATTRIBUTES.items() if value}
    entries = []
    try:
        results = connection.extend.standard.paged_search(
            settings.LDAP_SYNC_BASE_DN,
            settings.LDAP_SYNC_FILTER,
            search_scope=ldap3.SUBTREE,
            attributes=sorted(set(mapping.values())),
            paged_size=settings.LDAP_SYNC_PAGE_SIZE,
            generator=True,
        )
        for result in results:
            if result.get("type") != "searchResEntry":
                continue
            raw = {name.lower(): values for name, values in result["raw_attributes"].items()}

            def first(key, raw=raw):
                values = raw.get(mapping.get(key, "").lower()) or []
                return _text(values[0], identifier=key == "external_id").strip() if values else ""

            record = PersonRecord(
                external_id=first("external_id"),
                username=first("username"),
                email=first("email"),
                first_name=first("first_name"),
                last_name=first("last_name"),
                display_name=first("display_name"),
            )
            groups_attribute = mapping.get("groups", "").lower()
            entries.append(
                DirectoryEntry(
                    dn=result["dn"],
                    record=record,
                    manager_dn=first("manager") if "manager" in mapping else None,
                    group_dns=[_text(v) for v in raw.get(groups_attribute, [])] if groups_attribute else [],
                )
            )
    except LDAPException as exc:
        raise DirectoryError(f"Searching {settings.LDAP_SYNC_BASE_DN} failed: {exc}") from exc
    return entries


def sync_ldap(*, entries=None, progress=None, dry_run=False, allow_mass_deactivation=False, by=None):
    """Bring the LDAP identity source in line with the directory; return a SyncResult.

    `entries` (DirectoryEntry list) skips reading the directory; `progress` wraps the
    iteration over entries (a tqdm factory). A dry run does everything in a transaction
    it then rolls back, so nothing changes and nobody is notified. Raises DirectoryError
    when the directory cannot be read or the run would deactivate more people than
    LDAP_SYNC_MAX_DEACTIVATIONS (nothing is changed then).
    """
    if entries is None:
        if not settings.LDAP_SYNC_ENABLED:
            raise DirectoryError("LDAP sync is not configured (LDAP_SYNC_URL).")
        connection = connect()
        try:
            entries = read_directory(connection)
        finally:
            connection.unbind()
    source = source_for(settings.LDAP_SYNC_SOURCE, SourceKind.LDAP, name="LDAP directory")
    if not source.authoritative:
        raise DirectoryError(f"{source} is not authoritative: Mandate takes no joiners or leavers from it.")
    seen = {entry.record.external_id for entry in entries if entry.record.external_id}
    leavers = list(User.objects.filter(identity_source=source, is_active=True).exclude(external_id__in=seen))
    _refuse_mass_deactivation(leavers, seen, allow_mass_deactivation)

    result = SyncResult(dry_run=dry_run)
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        _apply(source, entries, leavers, result, progress=progress, by=by)
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run:
        source.last_synced_at = timezone.now()
        source.last_sync_result = result.as_dict()
        source.save(update_fields=["last_synced_at", "last_sync_result"])
    logger.info("LDAP sync of %s: %s", source, result)
    return result


def _refuse_mass_deactivation(leavers, seen, allowed):
    limit = settings.LDAP_SYNC_MAX_DEACTIVATIONS
    if allowed or not leavers:
        return
    if not seen:
        raise DirectoryError(
            f"The directory returned nobody for {settings.LDAP_SYNC_FILTER} under {settings.LDAP_SYNC_BASE_DN}, "
            f"which would deactivate all {len(leavers)} people; nothing was changed."
        )
    if limit and len(leavers) > limit:
        raise DirectoryError(
            f"This sync would deactivate {len(leavers)} people (limit LDAP_SYNC_MAX_DEACTIVATIONS={limit}); "
            "nothing was changed. Check the base DN and filter, or run it with --allow-mass-deactivation."
        )


def _apply(source, entries, leavers, result, *, progress, by):
    people_by_dn = {}
    created_ids, reactivated_ids, changed_ids = set(), set(), set()
    for entry in progress(entries) if progress else entries:
        if not entry.record.external_id:
            result.failed += 1
            result.errors.append(f"{entry.dn}: no {settings.LDAP_SYNC_ATTRIBUTES['external_id']} attribute")
            continue
        try:
            outcome = upsert_person(source, entry.record, by=by, reason=f"Back in the directory ({source}).")
        except InvalidInput as exc:
            result.failed += 1
            result.errors.append(f"{entry.dn}: {exc.message}")
            continue
        people_by_dn[_normal_dn(entry.dn)] = outcome.user
        for ids, happened in ((created_ids, outcome.created), (reactivated_ids, outcome.reactivated)):
            if happened:
                ids.add(outcome.user.pk)
        if outcome.changed:
            changed_ids.add(outcome.user.pk)
    changed_ids |= _apply_managers(entries, people_by_dn)
    result.groups = _apply_groups(source, entries, people_by_dn)
    for user in leavers:
        deactivate_person(user, by=by, reason=f"No longer in the directory ({source}).")
        result.deactivated += 1
    result.created, result.reactivated = len(created_ids), len(reactivated_ids)
    result.updated = len(changed_ids - created_ids - reactivated_ids)
    result.unchanged = len(people_by_dn) - result.created - result.reactivated - result.updated


def _apply_managers(entries, people_by_dn):
    """Point each person at their manager; return the ids of people whose manager changed."""
    changed = set()
    for entry in entries:
        person = people_by_dn.get(_normal_dn(entry.dn))
        if person is None or entry.manager_dn is None:
            continue
        manager = people_by_dn.get(_normal_dn(entry.manager_dn)) if entry.manager_dn else None
        if manager != person and set_manager(person, manager):
            changed.add(person.pk)
    return changed


def _apply_groups(source, entries, people_by_dn):
    """Mirror group membership as the directory reports it; return the number of groups."""
    members = {}
    for entry in entries:
        person = people_by_dn.get(_normal_dn(entry.dn))
        for group_dn in entry.group_dns:
            _name, person_ids = members.setdefault(_normal_dn(group_dn), (group_dn, set()))
            if person is not None:
                person_ids.add(person.pk)
    with transaction.atomic():
        for key, (group_dn, person_ids) in members.items():
            group, _ = DirectoryGroup.objects.get_or_create(
                identity_source=source, external_id=key, defaults={"display_name": _first_rdn_value(group_dn)}
            )
            if set(group.members.values_list("pk", flat=True)) != person_ids:
                group.members.set(person_ids)
        # Groups nobody in the directory belongs to any more keep their name, lose members.
        for group in DirectoryGroup.objects.filter(identity_source=source).exclude(external_id__in=list(members)):
            if group.members.exists():
                group.members.clear()
    return len(members)
