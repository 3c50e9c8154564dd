"""Failed machine credentials (API keys, SCIM tokens, webhook signatures) are throttled per
client address: each burst over the limit doubles the wait, the last allowed burst locks
the address until an administrator lifts it, all kept in PostgreSQL; valid credentials
from that address keep working; every door counts against the same address; a refused key
that names a real one is evidence in its holder's workflow."""

import logging
from datetime import datetime, timedelta

import pytest
import redis
import time_machine
from auditlog.models import LogEntry
from django.core.management import call_command
from prometheus_client import REGISTRY

from approvals.tickets.http import sign
from governance.api import throttling
from governance.evidence import ocsf
from governance.evidence.models import EvidenceRecord
from governance.evidence.verification import verify_chains
from governance.models import Workflow
from identities.models import SignInThrottle
from identities.services import issue_api_key, revoke_api_key
from tests.chat.conftest import interact
from tests.ocsf.test_ocsf_events import validate
from tests.peers.harness import WEBHOOK_SECRET
from tests.queues.helpers import connect, post_webhook
from tests.scim.conftest import assert_scim_error
from tests.workers import TEST_REDIS_URL

pytestmark = pytest.mark.django_db

# The middle of a minute: a fixed window that cannot roll over during a burst.
MID_WINDOW = datetime(2026, 6, 1, 12, 0, 20).astimezone()
ADDRESS = "127.0.0.1"  # the test client's
WRONG_KEY = "Bearer mdt_0000ffff_not-a-key-anyone-was-given"


@pytest.fixture
def limits(settings):
    settings.API_AUTH_FAILURE_RATE = "2/min"
    settings.API_AUTH_FAILURE_LOCKOUT_BURSTS = 3


def bad_key(client, key=WRONG_KEY, **extra):
    return client.get("/api/v1/workflows/", HTTP_AUTHORIZATION=key, **extra)


def throttle(address=ADDRESS):
    return SignInThrottle.objects.get(scope="bearer", key=address)


def burst(client, n=3):
    return [bad_key(client) for _ in range(n)]


def signed_with(secret, body):
    """The signature headers the ticket systems' webhooks carry."""
    names = ("X-Mandate-Signature", "X-Hub-Signature", "X-Hub-Signature-256")
    return {name: sign(secret, body) for name in names}


def codes(responses):
    return [r.status_code for r in responses]


# --- Growing waits and the lock ---------------------------------------------------------


def test_each_burst_of_failed_keys_doubles_the_wait_until_the_address_is_locked(client, api_as, agent, limits, caplog):
    good = api_as(agent)
    with time_machine.travel(MID_WINDOW, tick=False) as clock, caplog.at_level(logging.WARNING):
        first = burst(client)
        assert codes(first) == [401, 401, 429] and first[2]["Retry-After"] == "60"
        assert throttle().bursts == 1 and throttle().failures == 3 and throttle().surface == "api"
        waiting = bad_key(client)
        assert waiting.status_code == 429 and waiting.json()["code"] == "throttled"
        assert throttle().failures == 3  # refused unexamined and uncounted while it waits
        assert good.get("/api/v1/workflows/").status_code == 200  # a valid key from there works

        clock.shift(61)  # the wait is over: the next burst waits twice as long
        second = burst(client)
        assert codes(second) == [401, 401, 429] and second[2]["Retry-After"] == "120"
        clock.shift(60)
        assert bad_key(client).status_code == 429  # still inside the doubled wait

        clock.shift(61)  # the third burst locks
        third = burst(client)
        assert codes(third) == [401, 401, 403]
        assert third[2].json()["code"] == "credentials_locked" and "Retry-After" not in third[2]
        assert "administrator lifts the lock" in third[2].json()["message"]

        clock.shift(timedelta(days=3))  # a lock outlasts the quiet period: only a lift ends it
        assert bad_key(client).status_code == 403
        assert good.get("/api/v1/workflows/").status_code == 200
    row = throttle()
    assert row.bursts == 3 and row.locked_at is not None and row.locked_until is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"failed credentials from {ADDRESS} locked after 3 bursts" in w for w in warnings)


def test_a_quiet_period_forgives_earlier_bursts(client, limits, settings):
    settings.SIGN_IN_FAILURE_MEMORY_SECONDS = 3600
    with time_machine.travel(MID_WINDOW, tick=False) as clock:
        burst(client)
        clock.shift(61)
        assert burst(client)[2]["Retry-After"] == "120"
        clock.shift(3600 + 121)
        again = burst(client)
    assert again[2]["Retry-After"] == "60" and throttle().bursts == 1


def test_an_administrator_lifts_the_address_lock_from_the_command_line(client, limits, admin_user, caplog):
    with time_machine.travel(MID_WINDOW, tick=False) as clock:
        for _ in range(3):
            burst(client)
            clock.shift(300)
        assert bad_key(client).status_code == 403
        with caplog.at_level(logging.WARNING):
            call_command("lift_sign_in_lock", ADDRESS, by=admin_user.username)
        row = throttle()
        assert row.locked_at is None and row.bursts == 0 and row.lifted_by == admin_user
        # Counted afresh: the first burst after a lift waits one window again.
        assert codes(burst(client)) == [401, 401, 429] and throttle().bursts == 1
    assert any("lifted by" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    entries = LogEntry.objects.get_for_object(row)
    assert any("locked_at" in (e.changes_dict or {}) for e in entries)  # the lock, in the change log…
    assert entries.filter(actor=admin_user).exists()  # …and who lifted it


def test_the_admin_lifts_an_address_lock_with_its_action(client, limits, admin_user):
    with time_machine.travel(MID_WINDOW, tick=False) as clock:
        for _ in range(3):
            burst(client)
            clock.shift(300)
        row = throttle()
        client.force_login(admin_user)
        client.post("/admin/identities/signinthrottle/", {"action": "lift_locks", "_selected_action": [row.pk]})
        client.logout()
        assert bad_key(client).status_code == 401
    row.refresh_from_db()
    assert row.locked_at is None and row.lifted_by == admin_user


def refused(surface, answer):
    return REGISTRY.get_sample_value("mandate_credentials_refused_total", {"surface": surface, "answer": answer}) or 0


def test_operators_see_failed_credentials_by_door_and_answer_in_the_metrics(client, limits):
    answers = ("unauthorized", "throttled", "locked")
    before = {(door, a): refused(door, a) for door in ("api", "scim") for a in answers}
    with time_machine.travel(MID_WINDOW, tick=False) as clock:
        burst(client)  # 401, 401, 429
        bad_key(client)  # 429 while it waits
        clock.shift(300)
        client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer mdp_guess")  # 401 at the SCIM door
        clock.shift(300)
        burst(client)
        clock.shift(300)
        assert codes(burst(client))[-1] == 403
        bad_key(client)  # 403: locked
    counted = {key: refused(*key) - before[key] for key in before}
    assert counted == {
        ("api", "unauthorized"): 6,
        ("api", "throttled"): 3,
        ("api", "locked"): 2,
        ("scim", "unauthorized"): 1,
        ("scim", "throttled"): 0,
        ("scim", "locked"): 0,
    }


# --- PostgreSQL holds the state; Redis is only the fast path ----------------------------


def test_a_wait_and_a_lock_survive_a_redis_outage_and_a_restart(client, api_as, agent, limits, settings):
    settings.RATE_LIMIT_REDIS_URL = TEST_REDIS_URL
    store = redis.Redis.from_url(TEST_REDIS_URL)
    for name in store.scan_iter("mandate:rl:authfail:*"):
        store.delete(name)
    with time_machine.travel(MID_WINDOW, tick=False) as clock:
        assert codes(burst(client)) == [401, 401, 429]  # counted in Redis
        settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:8399/0"  # Redis gone…
        throttling._redis.pop("redis://127.0.0.1:8399/0", None)
        throttling.forget_local_counts()  # …and the process restarted
        assert bad_key(client).status_code == 429  # the wait is PostgreSQL's
        for _ in range(2):
            clock.shift(300)
            burst(client)  # counted per process meanwhile: still bursts, still recorded
        assert bad_key(client).status_code == 403
        throttling.forget_local_counts()
        assert bad_key(client).status_code == 403
        assert api_as(agent).get("/api/v1/workflows/").status_code == 200
    for name in store.scan_iter("mandate:rl:authfail:*"):
        store.delete(name)


def test_one_burst_is_recorded_once_however_many_processes_reach_the_limit(client, limits):
    with time_machine.travel(MID_WINDOW, tick=False):
        burst(client)
        throttling.forget_local_counts()  # another process, whose own counter is fresh
        assert codes(burst(client)) == [429, 429, 429]  # PostgreSQL refuses before it counts
    assert throttle().bursts == 1


# --- Every door counts against the same address -----------------------------------------


@pytest.mark.parametrize("ticket_system", ["jira"], indirect=True)
def test_an_address_throttled_on_the_api_cannot_keep_guessing_through_scim_or_webhooks(
    client, limits, scim, ticket_system, workflow, installation, slack
):
    queue = connect(workflow, ticket_system)
    body = b'{"issue": {"key": "OPS-1"}}'
    forged = signed_with("not-the-secret", body)
    with time_machine.travel(MID_WINDOW, tick=False):
        assert codes(burst(client)) == [401, 401, 429]
        scim_guess = client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer mdp_guess")
        ticket_guess = post_webhook(client, queue, forged, body)
        payload, headers = slack.sign({"type": "block_actions", "team": {"id": slack.team_id}})
        slack_guess = interact(client, installation, (payload, {**headers, "X-Slack-Signature": "v0=" + "0" * 64}))
        # The right credentials from the same address still pass at each door.
        scim_right = scim.get("Users")
        ticket_right = post_webhook(client, queue, signed_with(WEBHOOK_SECRET, body), body)
    assert_scim_error(scim_guess, 429)
    assert scim_guess["Retry-After"] == "60"
    for guess in (ticket_guess, slack_guess):
        assert guess.status_code == 429 and guess.json()["code"] == "throttled" and guess["Retry-After"] == "60"
    assert scim_right.status_code == 200
    assert ticket_right.status_code in (200, 202)
    assert throttle().failures == 3  # refused unexamined: nothing more counted


@pytest.mark.parametrize("ticket_system", ["jira"], indirect=True)
def test_failures_at_every_door_add_up_and_the_burst_names_its_door(client, settings, scim, ticket_system, workflow):
    settings.API_AUTH_FAILURE_RATE = "3/min"
    queue = connect(workflow, ticket_system)
    body = b'{"issue": {"key": "OPS-1"}}'
    with time_machine.travel(MID_WINDOW, tick=False):
        answers = [
            bad_key(client),
            client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer mdp_guess"),
            post_webhook(client, queue, signed_with("not-the-secret", body), body),
            client.get("/scim/v2/Groups", HTTP_AUTHORIZATION="Bearer mdp_guess-again"),
        ]
        no_token = client.get("/scim/v2/Users", REMOTE_ADDR="192.0.2.77")
    assert codes(answers) == [401, 401, 401, 429]
    assert no_token.status_code == 401  # no credential presented: nothing guessed, nothing counted
    assert throttle().surface == "scim" and throttle().failures == 4
    assert not SignInThrottle.objects.filter(key="192.0.2.77").exists()


def test_a_lock_at_the_scim_door_is_a_403_in_scims_shape(client, limits, scim):
    with time_machine.travel(MID_WINDOW, tick=False) as clock:
        for _ in range(3):
            for _ in range(3):
                client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer mdp_guess")
            clock.shift(300)
        locked = client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer mdp_guess")
        right = scim.get("Users")
    assert_scim_error(locked, 403)
    assert right.status_code == 200 and throttle().surface == "scim"


def test_a_locked_address_is_a_403_at_the_webhook_doors_and_a_good_signature_still_passes(
    client, limits, installation, slack
):
    with time_machine.travel(MID_WINDOW, tick=False) as clock:
        for _ in range(3):
            burst(client)
            clock.shift(300)
        payload, headers = slack.sign({"type": "block_actions", "team": {"id": slack.team_id}})
        forged = interact(client, installation, (payload, {**headers, "X-Slack-Signature": "v0=" + "0" * 64}))
        genuine = interact(client, installation, (payload, headers))
    assert forged.status_code == 403 and forged.json()["code"] == "credentials_locked"
    assert "Retry-After" not in forged
    assert genuine.status_code == 200  # acknowledged: a good signature from a locked address passes


def test_the_command_lists_an_address_locked_for_failed_credentials(client, limits, capsys):
    with time_machine.travel(MID_WINDOW, tick=False) as clock:
        for _ in range(3):
            burst(client)
            clock.shift(300)
        call_command("lift_sign_in_lock", "--list")
    assert f"bearer\t{ADDRESS}\t9 failures\tlocked" in capsys.readouterr().out


# --- Refused keys that name a real one are evidence -------------------------------------


def refusals_in(workflow):
    return EvidenceRecord.objects.filter(workflow=workflow, kind="account", outcome="denied").order_by("sequence")


def test_a_revoked_workload_key_and_a_guess_at_its_prefix_are_evidence_in_its_workflow(client, agent, workflow, limits):
    key, plaintext = issue_api_key(workload=agent, name="ci")
    revoke_api_key(key)
    with time_machine.travel(MID_WINDOW, tick=False):
        revoked = bad_key(client, f"Bearer {plaintext}")
        guessed = bad_key(client, f"Bearer {key.prefix}_a-wrong-secret")
        unknown = bad_key(client)  # names no key: counted, nothing to record
        refused = bad_key(client, f"Bearer {plaintext}")  # the address waits: not examined
    assert codes([revoked, guessed, unknown, refused]) == [401, 401, 429, 429]
    records = list(refusals_in(workflow))
    assert [r.workload_id for r in records] == [agent.pk, agent.pk]
    assert f"revoked key {key.prefix}… refused from {ADDRESS}" in records[0].summary
    assert f"a wrong secret with the prefix of key {key.prefix}… refused" in records[1].summary
    for row in refusals_in(workflow).values(*ocsf.FIELDS):
        event = ocsf.event(row)
        validate(event)
        assert (event["class_uid"], event["activity_name"], event["status"]) == (3001, "Credential refused", "Failure")
    assert all(result.ok for result in verify_chains(Workflow.objects.all()))


def test_a_deactivated_persons_token_is_evidence_in_the_workflows_they_own(client, owner, workflow, limits):
    _, plaintext = issue_api_key(user=owner, name="laptop")
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    with time_machine.travel(MID_WINDOW, tick=False):
        answer = bad_key(client, f"Bearer {plaintext}")
    assert answer.status_code == 401
    [record] = refusals_in(workflow)
    assert "Personal access token of" in record.summary and "deactivated person" in record.summary


def test_an_expired_key_names_its_reason(client, agent, workflow, limits):
    key, plaintext = issue_api_key(workload=agent, name="old")
    key.expires_at = MID_WINDOW - timedelta(minutes=1)
    key.save(update_fields=["expires_at"])
    with time_machine.travel(MID_WINDOW, tick=False):
        bad_key(client, f"Bearer {plaintext}")
    [record] = refusals_in(workflow)
    assert "expired key" in record.summary
