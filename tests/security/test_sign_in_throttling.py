"""Password sign-in is throttled per account name and per client address: free attempts,
then growing waits, then a lockout that an administrator lifts; all in PostgreSQL, so a
Redis outage changes nothing; every lockout and lift in the change log."""

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from governance.evidence import ocsf
from governance.evidence.models import EvidenceRecord
from governance.evidence.verification import verify_chains
from governance.models import Workflow
from identities.models import SignInThrottle
from identities.signin import lift
from tests import factories
from tests.ocsf.test_ocsf_events import validate

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(identity_source):
    user = factories.UserFactory(username="dana", identity_source=identity_source)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def limits(settings):
    settings.SIGN_IN_ACCOUNT_FREE_FAILURES = 3
    settings.SIGN_IN_ACCOUNT_LOCKOUT_FAILURES = 6
    settings.SIGN_IN_ADDRESS_FREE_FAILURES = 20
    settings.SIGN_IN_ADDRESS_LOCKOUT_FAILURES = 50
    settings.SIGN_IN_DELAY_SECONDS = 2
    settings.SIGN_IN_MAX_DELAY_SECONDS = 5
    settings.SIGN_IN_LOCKOUT_SECONDS = 0  # until lifted
    return settings


def sign_in(client, username, password, address="203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(response):
    return response.status_code == 302


def wait(seconds):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


def test_the_first_failures_are_free_then_each_costs_a_growing_wait(client, person, limits):
    for _ in range(3):
        assert not signed_in(sign_in(client, "dana", "wrong"))
    fourth = sign_in(client, "dana", "wrong")
    assert "try again in 2 seconds" in fourth.content.decode()
    # Inside the wait even the right password is refused, without being checked.
    refused = sign_in(client, "dana", PASSWORD)
    assert not signed_in(refused) and "Too many failed sign-ins" in refused.content.decode()
    with wait(3):
        assert "try again in 4 seconds" in sign_in(client, "dana", "wrong").content.decode()
    with wait(8):
        assert signed_in(sign_in(client, "dana", PASSWORD))
    # A success clears the account's count.
    assert SignInThrottle.objects.get(scope="account", key="dana").failures == 0


def test_the_lockout_holds_against_the_right_password_until_an_administrator_lifts_it(
    client, person, limits, admin_user
):
    for seconds in range(0, 60, 6):  # past each wait
        with wait(seconds):
            sign_in(client, "dana", "wrong")
    throttle = SignInThrottle.objects.get(scope="account", key="dana")
    assert throttle.failures == 6 and throttle.locked_at is not None and throttle.locked_until is None
    with wait(3600 * 24):
        response = sign_in(client, "dana", PASSWORD)
        assert not signed_in(response) and "administrator can lift the lock" in response.content.decode()
        lift(throttle, by=admin_user)
        assert signed_in(sign_in(client, "dana", PASSWORD))
    throttle.refresh_from_db()
    assert throttle.lifted_by == admin_user
    entries = LogEntry.objects.get_for_object(throttle)
    assert any("locked_at" in (e.changes_dict or {}) for e in entries)  # the lockout…
    assert entries.filter(actor=admin_user).exists()  # …and who lifted it, in the change log


def test_a_timed_lockout_ends_by_itself(client, person, limits):
    limits.SIGN_IN_LOCKOUT_SECONDS = 600
    for seconds in range(0, 60, 6):
        with wait(seconds):
            sign_in(client, "dana", "wrong")
    with wait(300):
        assert (
            "locked after too many failures; try again in 6 minutes"
            in sign_in(client, "dana", PASSWORD).content.decode()
        )
    with wait(700):
        assert signed_in(sign_in(client, "dana", PASSWORD))


def test_an_unknown_account_name_is_throttled_the_same_way(client, person, limits):
    pages = {}
    for name in ("dana", "nobody-by-that-name"):
        for seconds in range(0, 60, 6):
            with wait(seconds):
                pages[name] = sign_in(client, name, "wrong", address=f"192.0.2.{len(name)}").content.decode()
    assert SignInThrottle.objects.get(scope="account", key="nobody-by-that-name").locked_at is not None
    # The same words for an account that exists and one that does not.
    assert (
        "administrator can lift the lock" in pages["dana"]
        and "administrator can lift the lock" in pages["nobody-by-that-name"]
    )


def test_one_address_guessing_at_many_accounts_is_throttled_per_address(client, person, limits):
    limits.SIGN_IN_ADDRESS_FREE_FAILURES = 4
    limits.SIGN_IN_ADDRESS_LOCKOUT_FAILURES = 8
    for n in range(5):
        sign_in(client, f"user{n}", "wrong", address="198.51.100.9")
    refused = sign_in(client, "dana", PASSWORD, address="198.51.100.9")
    assert not signed_in(refused) and "try again" in refused.content.decode()
    # The same person from elsewhere is not affected.
    assert signed_in(sign_in(client, "dana", PASSWORD, address="192.0.2.1"))


def test_a_correct_password_does_not_wash_the_addresss_count(client, person, limits):
    limits.SIGN_IN_ADDRESS_FREE_FAILURES = 4
    limits.SIGN_IN_ADDRESS_LOCKOUT_FAILURES = 8
    for n in range(3):
        sign_in(client, f"user{n}", "wrong")
    assert signed_in(sign_in(client, "dana", PASSWORD))
    assert SignInThrottle.objects.get(scope="address", key="203.0.113.7").failures == 3


def test_the_admins_sign_in_is_throttled_too(client, admin_user, limits):
    for _ in range(4):
        response = client.post(
            "/admin/login/", {"username": admin_user.username, "password": "wrong"}, REMOTE_ADDR="203.0.113.7"
        )
    assert "Too many failed sign-ins" in response.content.decode()


def test_an_administrator_lifts_a_lock_from_the_command_line(client, person, limits, admin_user):
    for seconds in range(0, 60, 6):
        with wait(seconds):
            sign_in(client, "dana", "wrong")
    call_command("lift_sign_in_lock", "Dana", by=admin_user.username)
    throttle = SignInThrottle.objects.get(scope="account", key="dana")
    assert throttle.locked_at is None and throttle.lifted_by == admin_user
    assert signed_in(sign_in(client, "dana", PASSWORD, address="192.0.2.1"))


def test_the_admin_lists_locks_and_lifts_them_with_an_action(client, person, limits, admin_user):
    for seconds in range(0, 60, 6):
        with wait(seconds):
            sign_in(client, "dana", "wrong")
    throttle = SignInThrottle.objects.get(scope="account", key="dana")
    client.force_login(admin_user)
    listing = client.get("/admin/identities/signinthrottle/")
    assert listing.status_code == 200 and "dana" in listing.content.decode()
    client.post(
        "/admin/identities/signinthrottle/",
        {"action": "lift_locks", "_selected_action": [throttle.pk]},
    )
    throttle.refresh_from_db()
    assert throttle.locked_at is None and throttle.lifted_by == admin_user


def test_a_redis_outage_never_fails_a_sign_in(client, person, limits, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:8399/0"}
    }
    settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:8399/0"
    assert not signed_in(sign_in(client, "dana", "wrong"))
    assert signed_in(sign_in(client, "dana", PASSWORD))


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(rf, settings):
    from identities.signin import client_address

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_address(request) == "10.0.0.2"  # no proxy trusted: the header is the client's words
    settings.TRUSTED_PROXIES = 1
    assert client_address(request) == "203.0.113.7"  # not the spoofable left-hand value


def test_an_accounts_lockout_and_its_lifting_are_evidence_in_the_workflows_it_holds_up(
    client, person, limits, admin_user
):
    owned = factories.WorkflowFactory(control_owner=person)
    backed_up = factories.WorkflowFactory(backup_owner=person)
    elsewhere = factories.WorkflowFactory()
    for seconds in range(0, 60, 6):
        with wait(seconds):
            sign_in(client, "Dana", "wrong")  # the name as typed; the account is dana's
    lift(SignInThrottle.objects.get(scope="account", key="dana"), by=admin_user)
    for workflow in (owned, backed_up):
        locked, unlocked = EvidenceRecord.objects.filter(workflow=workflow, kind="account").order_by("sequence")
        assert (locked.outcome, locked.actor_id) == ("locked", person.pk)
        assert "locked after 6 failed attempts" in locked.summary and "until an administrator" in locked.summary
        assert (unlocked.outcome, unlocked.actor_id) == ("unlocked", admin_user.pk)
        rows = EvidenceRecord.objects.filter(workflow=workflow).order_by("sequence").values(*ocsf.FIELDS)
        events = [ocsf.event(row) for row in rows]
        for one in events:
            validate(one)
        assert [(e["class_uid"], e["activity_id"], e["activity_name"]) for e in events] == [
            (3001, 9, "Lock"),
            (3001, 12, "Unlock"),
        ]
    assert not EvidenceRecord.objects.filter(workflow=elsewhere).exists()
    assert all(result.ok for result in verify_chains(Workflow.objects.all()))


def test_an_address_lockout_or_an_unknown_name_writes_no_evidence(client, person, limits):
    factories.WorkflowFactory(control_owner=person)
    for seconds in range(0, 60, 6):
        with wait(seconds):
            sign_in(client, "nobody-by-that-name", "wrong")
    assert SignInThrottle.objects.get(scope="account", key="nobody-by-that-name").locked_at is not None
    assert not EvidenceRecord.objects.filter(kind="account").exists()
