"""The sweeper's batches are counted as the one-grant path counts each grant: the `grants
ended by cause` counter and the expiry lag, once the batch commits. On PostgreSQL (the
webhooks of a batch: tests/webhooks/test_batch_expiry_webhooks.py)."""

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from approvals import signals
from approvals.models import Grant
from approvals.services import expire_due_grants
from tests.access.test_grants import agent_grant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgresql_only")]


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_batch_ended_grants_are_counted_by_cause_with_their_expiry_lag(
    read_policy, agent, requester, django_capture_on_commit_callbacks
):
    grants = [agent_grant(read_policy, agent, requester, task=f"run-{n}") for n in range(5)]
    expired = value("mandate_grants_ended_total", cause="expired")
    lags, lag_sum = value("mandate_grant_expiry_lag_seconds_count"), value("mandate_grant_expiry_lag_seconds_sum")
    now = max(g.expires_at for g in grants) + timedelta(seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_due_grants(now=now, batch_size=2) == 5  # three batches
    assert value("mandate_grants_ended_total", cause="expired") == expired + 5
    assert value("mandate_grant_expiry_lag_seconds_count") == lags + 5
    expected = sum((now - g.expires_at).total_seconds() for g in grants)
    assert value("mandate_grant_expiry_lag_seconds_sum") == pytest.approx(lag_sum + expected, abs=0.01)


def test_a_rolled_back_batch_counts_nothing(read_policy, agent, requester, django_capture_on_commit_callbacks):
    grant = agent_grant(read_policy, agent, requester)
    expired = value("mandate_grants_ended_total", cause="expired")

    def fail(sender, **kwargs):
        raise RuntimeError("crash after the batch's statement")

    signals.grants_expired.connect(fail, dispatch_uid="test.fail")
    try:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
            expire_due_grants(now=grant.expires_at + timedelta(seconds=1))
    finally:
        signals.grants_expired.disconnect(dispatch_uid="test.fail")
    assert value("mandate_grants_ended_total", cause="expired") == expired
    assert Grant.objects.get(pk=grant.pk).status == "active"
