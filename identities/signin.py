"""Sign-in throttling: growing waits and a lockout per account name and per client address.

Each failed password sign-in counts against the account name as typed and against the
client's address. The first failures are free; each further one doubles a wait during
which an attempt is refused without the password being checked; at the lockout count the
name or address is locked for `SIGN_IN_LOCKOUT_SECONDS` (0: until an administrator lifts
it, in the admin or with `manage.py lift_sign_in_lock`). A success clears the account's
count (not the address's: one good account must not wash an address's guesses at others).

The counts live in PostgreSQL (`SignInThrottle`), never only in the cache, so a Redis
outage neither fails a sign-in nor forgets a lockout. Every counted failure, lockout and
lift is a change of that row, so the change log (auditlog) holds the whole story; a
lockout is also logged as a warning for the SIEM. An account's lockout and its lifting are
domain events too (`signals.sign_in_locked`, `sign_in_unlocked`): the evidence trail
records them in the chain of every workflow the person owns or backs up, whose approvals
the lock holds up. An address has no workflow: its lockouts stay in the change log.

`ThrottledModelBackend` puts this in front of Django's password check for every sign-in
form (the portal's and the admin's). Failed machine credentials (API keys, SCIM tokens,
webhook signatures) are counted per address by the API's rate limiter instead
(`governance.api.throttling`); its bursts over the limit earn growing waits and a lockout
here, in rows of scope `bearer` (`record_credentials_burst`, `credentials_block`), lifted
like the others.
"""

import logging
import math
import re
from contextlib import nullcontext
from datetime import timedelta

from auditlog.context import set_actor
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import signals
from .choices import SignInScope
from .models import ApiKey, SignInThrottle, hash_api_key
from .services import API_KEY_PREFIX

logger = logging.getLogger(__name__)

KEY_LENGTH = SignInThrottle._meta.get_field("key").max_length
# (scope, setting prefix) of what a password sign-in counts against.
COUNTED = ((SignInScope.ACCOUNT, "SIGN_IN_ACCOUNT"), (SignInScope.ADDRESS, "SIGN_IN_ADDRESS"))


def client_address(request):
    """The client's address: REMOTE_ADDR, or behind `TRUSTED_PROXIES` proxies the address
    the outermost of them saw (X-Forwarded-For read from the right, so a client cannot
    choose it)."""
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))][:KEY_LENGTH]
    return request.META.get("REMOTE_ADDR", "")[:KEY_LENGTH]


def account_key(username):
    return str(username or "").strip().lower()[:KEY_LENGTH]


def _keys(username, address):
    return {SignInScope.ACCOUNT: account_key(username), SignInScope.ADDRESS: address}


def _duration(seconds):
    if seconds >= 3600:
        return f"{math.ceil(seconds / 3600)} hours" if seconds > 3600 else "an hour"
    if seconds >= 120:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{max(1, math.ceil(seconds))} seconds"


def _refusal_of(row, now):
    """Why `row` refuses a sign-in now (one sentence), or None."""
    if row.is_locked(now):
        if row.locked_until is None:
            return "Sign-in is locked after too many failures; an administrator can lift the lock."
        wait = (row.locked_until - now).total_seconds()
        return (
            f"Sign-in is locked after too many failures; try again in {_duration(wait)} "
            "or ask an administrator to lift the lock."
        )
    if row.blocked_until is not None and row.blocked_until > now:
        return f"Too many failed sign-ins; try again in {_duration((row.blocked_until - now).total_seconds())}."
    return None


def refusal(username, address, *, now=None):
    """Why a sign-in by `username` from `address` is refused right now, or None."""
    now = now or timezone.now()
    keys = _keys(username, address)
    rows = SignInThrottle.objects.filter(
        Q(scope=SignInScope.ACCOUNT, key=keys[SignInScope.ACCOUNT])
        | Q(scope=SignInScope.ADDRESS, key=keys[SignInScope.ADDRESS]),
        Q(blocked_until__gt=now) | Q(locked_at__isnull=False),
    )
    for row in sorted(rows, key=lambda r: r.scope):  # the account's reason first
        reason = _refusal_of(row, now)
        if reason:
            return reason
    return None


def _count_failure(scope, key, prefix, now):
    free = getattr(settings, f"{prefix}_FREE_FAILURES")
    lockout = getattr(settings, f"{prefix}_LOCKOUT_FAILURES")
    with transaction.atomic():
        row, _ = SignInThrottle.objects.select_for_update().get_or_create(scope=scope, key=key)
        memory = timedelta(seconds=settings.SIGN_IN_FAILURE_MEMORY_SECONDS)
        if row.last_failure_at and row.last_failure_at < now - memory and not row.is_locked(now):
            row.failures, row.first_failure_at, row.locked_at, row.locked_until = 0, None, None, None
        row.failures += 1
        row.first_failure_at = row.first_failure_at or now
        row.last_failure_at = now
        newly_locked = row.failures >= lockout and not row.is_locked(now)
        if newly_locked:
            lock_seconds = settings.SIGN_IN_LOCKOUT_SECONDS
            row.locked_at = now
            row.locked_until = now + timedelta(seconds=lock_seconds) if lock_seconds else None
            row.lifted_at, row.lifted_by = None, None
            if scope == SignInScope.ACCOUNT:
                signals.sign_in_locked.send(SignInThrottle, username=key, failures=row.failures, until=row.locked_until)
        elif row.failures > free:
            delay = settings.SIGN_IN_DELAY_SECONDS * 2 ** min(row.failures - free - 1, 30)
            row.blocked_until = now + timedelta(seconds=min(delay, settings.SIGN_IN_MAX_DELAY_SECONDS))
        row.save()
    if newly_locked:
        logger.warning(
            "sign-in locked for %s %r after %d failures since %s",
            scope,
            key,
            row.failures,
            row.first_failure_at.isoformat(),
        )
    return row


def record_failure(username, address, *, now=None):
    """Count one failed sign-in against the account name and the address; returns the
    refusal now in force because of it (None while attempts are still free)."""
    now = now or timezone.now()
    keys = _keys(username, address)
    rows = [_count_failure(scope, keys[scope], prefix, now) for scope, prefix in COUNTED if keys[scope]]
    return next((reason for row in rows if (reason := _refusal_of(row, now))), None)


def record_success(username, *, now=None):
    """A correct password: the account's failures are forgotten (the address's are not)."""
    SignInThrottle.objects.filter(
        scope=SignInScope.ACCOUNT, key=account_key(username), failures__gt=0, locked_at__isnull=True
    ).update(failures=0, first_failure_at=None, blocked_until=None)


def lift(throttle, *, by=None, now=None):
    """Lift a lock or wait (an administrator's decision): the next attempt is checked again.
    Returns the row; lifting one that holds nothing changes nothing."""
    now = now or timezone.now()
    # The administrator is the actor of the change-log entry, from a request or a command.
    with set_actor(by) if by is not None else nullcontext(), transaction.atomic():
        row = SignInThrottle.objects.select_for_update().get(pk=throttle.pk)
        if row.failures == 0 and row.bursts == 0 and row.locked_at is None and row.blocked_until is None:
            return row
        row.failures, row.bursts, row.first_failure_at, row.blocked_until = 0, 0, None, None
        was_locked = row.locked_at is not None
        row.locked_at, row.locked_until = None, None
        row.lifted_at, row.lifted_by = now, by
        row.save()
        if was_locked and row.scope == SignInScope.ACCOUNT:
            signals.sign_in_unlocked.send(SignInThrottle, username=row.key, by=by)
    logger.warning("sign-in lock on %s %r lifted by %s", row.scope, row.key, by or "an operator")
    return row


def lift_for(key, *, by=None):
    """Lift every lock or wait on an account name or address. Returns how many were lifted."""
    lifted = 0
    for row in SignInThrottle.objects.filter(key__in={account_key(key), str(key).strip()[:KEY_LENGTH]}):
        if row.failures or row.locked_at or row.blocked_until:
            lift(row, by=by)
            lifted += 1
    return lifted


def credentials_block(address, *, now=None):
    """The `bearer` row that refuses failed credentials from `address` right now (locked,
    or inside a wait), or None. One indexed read; only failing credentials pay it."""
    now = now or timezone.now()
    row = SignInThrottle.objects.filter(scope=SignInScope.BEARER, key=address[:KEY_LENGTH]).first()
    if row is None or not (row.is_locked(now) or (row.blocked_until is not None and row.blocked_until > now)):
        return None
    return row


def record_credentials_burst(address, surface, failures, window, *, now=None):
    """An address went over the limit of failed machine credentials (`failures` in a window
    of `window` seconds, the last one at `surface`). The n-th burst since the last lift or
    quiet period blocks failing credentials for window × 2^(n−1); the
    `API_AUTH_FAILURE_LOCKOUT_BURSTS`-th locks the address until an administrator lifts it.
    Returns the row, whose `blocked_until` or lock is now in force.

    Counted once per wait: a process that reaches the limit while another has just
    recorded the burst (per-process counters while Redis is away) finds the row blocking
    and adds nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        row, _ = SignInThrottle.objects.select_for_update().get_or_create(
            scope=SignInScope.BEARER, key=address[:KEY_LENGTH]
        )
        if row.is_locked(now) or (row.blocked_until is not None and row.blocked_until > now):
            return row
        memory = timedelta(seconds=settings.SIGN_IN_FAILURE_MEMORY_SECONDS)
        if row.last_failure_at and row.last_failure_at < now - memory:
            row.failures, row.bursts, row.first_failure_at = 0, 0, None  # a quiet period forgives
        row.failures += failures
        row.bursts += 1
        row.surface = surface
        row.first_failure_at = row.first_failure_at or now
        row.last_failure_at = now
        locked = row.bursts >= settings.API_AUTH_FAILURE_LOCKOUT_BURSTS
        if locked:
            row.locked_at, row.locked_until, row.blocked_until = now, None, None
            row.lifted_at, row.lifted_by = None, None
        else:
            row.blocked_until = now + timedelta(seconds=window * 2 ** min(row.bursts - 1, 20))
        row.save()
    if locked:
        logger.warning(
            "failed credentials from %s locked after %d bursts (%d failures since %s, the last at %s): "
            "refused until an administrator lifts the lock",
            address,
            row.bursts,
            row.failures,
            row.first_failure_at.isoformat(),
            surface,
        )
    else:
        logger.warning(
            "failed credentials from %s over the limit (burst %d, %d in the window, the last at %s): refused until %s",
            address,
            row.bursts,
            failures,
            surface,
            row.blocked_until.isoformat(),
        )
    return row


# A key is its visible prefix (`mdt_` + 8 hex digits, unique) + `_` + the secret.
KEY_SHAPE = re.compile(rf"^({re.escape(API_KEY_PREFIX)}[0-9a-f]{{8}})_.")


def refused_key_of(plaintext):
    """The ApiKey a refused bearer value names by its visible prefix, and why it failed:
    `revoked`, `expired`, `holder_deactivated` (the secret is right), `wrong_secret` (a real
    key's prefix with another secret: prefixes are shown in lists and logs, secrets never).
    (None, "") when the value names no key."""
    shape = KEY_SHAPE.match(str(plaintext or ""))
    if shape is None:
        return None, ""
    key = ApiKey.objects.select_related("workload", "user").filter(prefix=shape.group(1)).first()
    if key is None:
        return None, ""
    if key.key_hash != hash_api_key(plaintext):
        return key, "wrong_secret"
    now = timezone.now()
    if key.revoked_at is not None:
        return key, "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return key, "expired"
    return key, "holder_deactivated"


def report_refused_api_key(plaintext, address, *, surface):
    """A bearer value was refused (and counted) from `address`: when it names a real key,
    its holder's trail learns of it (`signals.api_key_refused`; for a workload's key,
    evidence in its workflow's chain). Returns the reason, or "" for a value naming no key.
    Never called while the address is refused: those values are not examined at all."""
    key, reason = refused_key_of(plaintext)
    if key is not None:
        logger.warning("refused %s key %s from %s (%s)", surface, key.prefix, address, reason)
        with transaction.atomic():
            signals.api_key_refused.send(ApiKey, key=key, reason=reason, address=address, surface=surface)
    return reason


class ThrottledModelBackend(ModelBackend):
    """Django's password check behind the throttle: refused while a wait or lockout holds
    (without checking the password), counted when it fails, cleared when it succeeds."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or username is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        address = client_address(request)
        reason = refusal(username, address)
        if reason:
            request.sign_in_refusal = reason
            # Stops the other backends too; Django reports it as a failed sign-in.
            raise PermissionDenied(reason)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            reason = record_failure(username, address)
            if reason:
                request.sign_in_refusal = reason
        else:
            record_success(username)
        return user
