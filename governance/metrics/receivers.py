"""Counters fed by the lifecycle's domain events (connected in GovernanceConfig.ready)."""

from django.db import transaction

from approvals import signals
from approvals.choices import GrantStatus

from .instruments import AUTHORIZATION_DECISIONS, EXPIRY_LAG, GRANTS_ENDED

# Label children resolved once: the authorization check is the hot path, and a
# `.labels()` lookup per call would cost more than the increment itself.
_ALLOWED = AUTHORIZATION_DECISIONS.labels(result="allow")
_DENIED = AUTHORIZATION_DECISIONS.labels(result="deny")


def count_authorization(sender, result, **kwargs):
    (_ALLOWED if result.allow else _DENIED).inc()


def count_grant_end(sender, grant, **kwargs):
    cause = str(grant.status)
    lag = None
    if grant.status == GrantStatus.EXPIRED and grant.ended_at:
        lag = max((grant.ended_at - grant.expires_at).total_seconds(), 0.0)

    def record():
        GRANTS_ENDED.labels(cause=cause).inc()
        if lag is not None:
            EXPIRY_LAG.observe(lag)

    # Counted once the end is committed: a rolled-back revocation ended nothing.
    transaction.on_commit(record)


def count_batch_end(sender, grants, now=None, **kwargs):
    """The sweeper's batch: what `count_grant_end` counts for each grant, for all at once."""
    lags = [max((now - grant.expires_at).total_seconds(), 0.0) for grant in grants if now and grant.expires_at]
    causes = {}
    for grant in grants:
        causes[str(grant.status)] = causes.get(str(grant.status), 0) + 1

    def record():
        for cause, count in causes.items():
            GRANTS_ENDED.labels(cause=cause).inc(count)
        for lag in lags:
            EXPIRY_LAG.observe(lag)

    # Counted once the batch is committed: a rolled-back batch ended nothing.
    transaction.on_commit(record)


def connect():
    signals.authorization_checked.connect(count_authorization, dispatch_uid="metrics.authorization")
    signals.grant_ended.connect(count_grant_end, dispatch_uid="metrics.grant_ended")
    signals.grants_expired.connect(count_batch_end, dispatch_uid="metrics.grants_expired")
