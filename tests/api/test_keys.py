"""Workload API keys are shown once, stored hashed, rotate with a grace period and revoke."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from governance.exceptions import IllegalTransition
from identities.models import ApiKey, hash_api_key
from identities.services import authenticate_api_key, issue_api_key, revoke_api_key, rotate_api_key

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_its_hash(agent):
    key, plaintext = issue_api_key(workload=agent)
    stored = ApiKey.objects.get(pk=key.pk)
    assert plaintext.startswith(stored.prefix)
    assert plaintext not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.key_hash == hash_api_key(plaintext)


def test_a_key_authenticates_its_workload_and_records_use(agent):
    key, plaintext = issue_api_key(workload=agent)
    assert authenticate_api_key(plaintext).workload == agent
    key.refresh_from_db()
    agent.refresh_from_db()
    assert key.last_used_at is not None and agent.last_used_at is not None


def test_unknown_and_malformed_keys_do_not_authenticate(agent):
    issue_api_key(workload=agent)
    assert authenticate_api_key("mdt_deadbeef_nope") is None
    assert authenticate_api_key("Bearer something") is None
    assert authenticate_api_key("") is None


def test_a_revoked_key_stops_at_once(agent):
    key, plaintext = issue_api_key(workload=agent)
    revoke_api_key(key)
    revoke_api_key(key)  # idempotent
    assert authenticate_api_key(plaintext) is None


def test_a_rotated_key_works_during_the_grace_period_only(agent):
    old, old_plain = issue_api_key(workload=agent)
    new, new_plain = rotate_api_key(old, grace=timedelta(hours=1))
    assert authenticate_api_key(old_plain) is not None
    assert authenticate_api_key(new_plain).pk == new.pk
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert authenticate_api_key(old_plain) is None
        assert authenticate_api_key(new_plain) is not None


def test_a_suspended_workload_gets_no_new_key(agent):
    agent.status = "suspended"
    agent.save()
    with pytest.raises(IllegalTransition, match="not active"):
        issue_api_key(workload=agent)
