"""The LDAP sync brings joiners, movers and leavers from a real OpenLDAP server."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_celery_beat.models import PeriodicTask

from governance.schedule import sync_periodic_jobs
from identities.ldap_sync import DirectoryError, sync_ldap
from identities.models import DirectoryGroup, User
from identities.services import deactivate_person
from identities.tasks import sync_ldap_directory
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.ldap]


@pytest.fixture
def staff(directory):
    directory.add_person("alice", "Alice Anders", "alice@example.test", employeeNumber="1001")
    directory.add_person("bob", "Bob Berg", "bob@example.test", manager="alice")
    directory.add_person("carol", "Carol Chen", "carol@example.test", manager="alice")
    directory.add_group("engineering", ["alice", "bob"])
    directory.add_group("access-approvers", ["alice"])
    return directory


def person(username):
    return User.objects.select_related("identity_source", "manager").get(username=username)


def test_the_first_import_creates_people_with_managers_and_groups(staff):
    result = sync_ldap()

    assert (result.created, result.updated, result.deactivated, result.failed) == (3, 0, 0, 0)
    alice, bob = person("alice"), person("bob")
    assert alice.identity_source.slug == "corporate-directory" and alice.identity_source.kind == "ldap"
    assert len(alice.external_id) == 36, "matched by entryUUID, not by name"
    assert (alice.email, alice.first_name, alice.last_name, alice.display_name) == (
        "alice@example.test",
        "Alice",
        "Anders",
        "Alice Anders",
    )
    assert bob.manager == alice and person("carol").manager == alice and alice.manager is None
    groups = {g.display_name: set(g.members.values_list("username", flat=True)) for g in DirectoryGroup.objects.all()}
    assert groups == {"engineering": {"alice", "bob"}, "access-approvers": {"alice"}}
    assert not alice.has_usable_password()


def test_a_second_run_without_changes_changes_nothing(staff):
    sync_ldap()

    result = sync_ldap()

    assert (result.created, result.updated, result.deactivated, result.unchanged) == (0, 0, 0, 3)
    assert User.objects.count() == 3


def test_a_changed_attribute_updates_only_that_person(staff):
    sync_ldap()
    staff.change("bob", mail="robert.berg@example.test", cn="Robert Berg", manager="")

    result = sync_ldap()

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    bob = person("bob")
    assert (bob.email, bob.display_name, bob.manager) == ("robert.berg@example.test", "Robert Berg", None)


def test_a_renamed_entry_is_still_the_same_person(staff):
    sync_ldap()
    bob_id = person("bob").pk
    staff.rename("bob", "rberg")

    result = sync_ldap()

    assert (result.created, result.updated, result.deactivated) == (0, 1, 0)
    assert User.objects.get(pk=bob_id).username == "rberg"


def test_a_removed_person_is_deactivated_and_leaves_their_groups(staff):
    sync_ldap()
    staff.remove("bob")

    result = sync_ldap()

    assert (result.created, result.updated, result.deactivated) == (0, 0, 1)
    bob = person("bob")
    assert not bob.is_active
    assert "No longer in the directory" in bob.deactivation_reason
    assert bob.deactivated_by is None
    assert set(DirectoryGroup.objects.get(display_name="engineering").members.values_list("username", flat=True)) == {
        "alice"
    }


def test_a_person_back_in_the_directory_is_reactivated_but_gets_no_access_back(staff):
    sync_ldap()
    bob_id = person("bob").pk
    deactivate_person(person("bob"), reason="No longer in the directory")

    result = sync_ldap()

    assert result.reactivated == 1
    assert User.objects.get(pk=bob_id).is_active


def test_someone_a_person_deactivated_stays_deactivated(staff, owner):
    sync_ldap()
    deactivate_person(person("bob"), by=owner, reason="Credentials leaked")

    result = sync_ldap()

    assert result.reactivated == 0
    assert not person("bob").is_active


def test_a_local_account_with_the_same_email_is_never_merged(staff, identity_source):
    factories.UserFactory(username="carol", email="carol@example.test", identity_source=identity_source)

    result = sync_ldap()

    assert (result.created, result.failed) == (2, 1)
    assert "carol@example.test" in result.errors[0]
    assert User.objects.get(email="carol@example.test").external_id == ""


def test_a_taken_username_gets_a_source_suffix(staff, identity_source):
    factories.UserFactory(username="alice", email="someone-else@example.test", identity_source=identity_source)

    sync_ldap()

    assert User.objects.get(email="alice@example.test").username == "alice.corporate-directory"


def test_an_empty_result_deactivates_nobody(staff, settings):
    sync_ldap()
    settings.LDAP_SYNC_FILTER = "(uid=nobody-by-this-name)"

    with pytest.raises(DirectoryError, match="returned nobody"):
        sync_ldap()

    assert User.objects.filter(is_active=True).count() == 3


def test_more_leavers_than_the_limit_stops_the_sync(staff, settings):
    sync_ldap()
    settings.LDAP_SYNC_MAX_DEACTIVATIONS = 1
    staff.remove("bob")
    staff.remove("carol")

    with pytest.raises(DirectoryError, match="would deactivate 2 people"):
        sync_ldap()
    assert User.objects.filter(is_active=True).count() == 3

    assert sync_ldap(allow_mass_deactivation=True).deactivated == 2


def test_a_source_that_is_not_authoritative_is_left_alone(staff):
    sync_ldap()
    source = person("alice").identity_source
    source.authoritative = False
    source.save()
    staff.remove("bob")

    with pytest.raises(DirectoryError, match="not authoritative"):
        sync_ldap()
    assert person("bob").is_active


def test_a_dry_run_reports_and_changes_nothing(staff):
    result = sync_ldap(dry_run=True)

    assert result.created == 3
    assert not User.objects.exists()


def test_the_command_reports_counts(staff, capsys):
    call_command("sync_ldap", "--no-progress")

    assert "3 created, 0 updated, 0 deactivated" in capsys.readouterr().out


def test_the_command_fails_clearly_on_a_wrong_password(staff, settings):
    settings.LDAP_SYNC_BIND_PASSWORD = "wrong"

    with pytest.raises(CommandError, match="Cannot bind") as failure:
        call_command("sync_ldap", "--no-progress")
    assert "wrong" not in str(failure.value)


def test_the_periodic_task_syncs_and_is_scheduled_only_when_configured(staff, settings):
    assert sync_ldap_directory()["created"] == 3

    sync_periodic_jobs()
    assert PeriodicTask.objects.get(task="identities.sync_ldap").enabled
    settings.LDAP_SYNC_ENABLED = False
    sync_periodic_jobs()
    assert not PeriodicTask.objects.get(task="identities.sync_ldap").enabled
    assert sync_ldap_directory() is None


def test_a_removed_control_owner_hands_the_workflow_to_the_backup(staff):
    sync_ldap()
    bob, alice = person("bob"), person("alice")
    workflow = factories.WorkflowFactory(control_owner=bob, backup_owner=alice, identity_source=bob.identity_source)
    staff.remove("bob")

    sync_ldap()

    workflow.refresh_from_db()
    assert (workflow.control_owner, workflow.backup_owner, workflow.status) == (alice, None, "active")
