"""Bearer authentication for the API: workload API keys and personal access tokens.

`Authorization: Bearer mdt_…` is looked up by its hash (`identities.services.
authenticate_api_key`, which also records `last_used_at`).
- A workload's key: `request.user` is a `WorkloadPrincipal` (never a `User`), whose
  `.workload` permission rules read; `request.auth` is the `ApiKey`.
- A person's personal access token: `request.user` is that person, with exactly their own
  permissions; `request.auth` is the `ApiKey`.
A Bearer value that is not a valid, unexpired, unrevoked key is a 401 — it never falls
back to the session — or, once the client's address has failed too often, a 429 (a wait)
or 403 (a lock) decided before the value is examined (`refuse`). Without the header, the
next class (session, with CSRF) is tried.
"""

from auditlog.context import auditlog_value
from django.db import connection
from rest_framework import authentication, exceptions

from governance.api.throttling import failed_credentials_wait
from identities.choices import CredentialSurface
from identities.principals import WorkloadPrincipal
from identities.services import authenticate_api_key, remembered_workload_key
from identities.signin import client_address, report_refused_api_key

KEYWORD = "Bearer"


def bearer_value(request):
    """The credential after `Bearer `, or None when the header is absent or another scheme."""
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].lower() != KEYWORD.lower().encode():
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("Malformed Authorization header: expected `Bearer <key>`.")
    try:
        return header[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed("Malformed Authorization header: the key is not text.")


def attribute_audit_actor(user):
    """Name the person as the actor of the audit-log entries this request writes.

    The audit-log middleware runs before DRF authenticates a Bearer key, so it saw an
    anonymous request; a personal token's owner is filled in here. Workloads are not
    `User`s and are recorded as evidence, not as audit-log actors.
    """
    try:
        context = auditlog_value.get()
    except LookupError:
        return
    context["actor"] = user


def _checks_remembered_keys(request):
    """Whether the view checks the caller's key itself, in its own statement (PostgreSQL only).

    The authorization check (`checks_remembered_keys = True`) takes a workload key this
    process authenticated within the last minute from memory
    (`identities.services.remembered_workload_key`), without a statement, and hands it to
    the check (`key_id`), whose one statement verifies the key and its workload again
    and refuses with 401 (`CredentialRefused`) when the key no longer holds. So the check
    is one round trip, and revoking a key still takes effect on the next call. Every
    other view, and every view elsewhere than PostgreSQL, reads the key each time.
    """
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return getattr(view, "checks_remembered_keys", False) and connection.vendor == "postgresql"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` for workload keys and personal access tokens."""

    def authenticate(self, request):
        value = bearer_value(request)
        if value is None:
            return None
        if _checks_remembered_keys(request):
            key = remembered_workload_key(value)
            if key is not None:
                return WorkloadPrincipal(key.workload, credential=key), key
        key = authenticate_api_key(value)
        if key is None:
            self.refuse(request, value, "Invalid, expired or revoked API key.")
        if key.workload_id is not None:
            return WorkloadPrincipal(key.workload, credential=key), key
        if not key.user.is_active:
            self.refuse(request, value, "The owner of this personal access token is deactivated.")
        attribute_audit_actor(key.user)
        return key.user, key

    @staticmethod
    def refuse(request, value, message):
        """401, or 429 (a wait) / 403 (a lock) once the client's address has failed too often.

        Only a failing value gets here: a valid key from that address still works, since
        keys carry 256 random bits (nothing is guessed) and one broken agent must not lock
        out the others behind the same address. While the address is refused, the value
        is neither counted nor examined; a counted one that names a real key (revoked,
        expired, or a known prefix with a wrong secret) is reported to its holder's trail.
        """
        refusal = failed_credentials_wait(request, CredentialSurface.API)
        if refusal is not None and refusal.locked:
            raise exceptions.PermissionDenied(refusal.message, code="credentials_locked")
        if refusal is not None:
            raise exceptions.Throttled(wait=refusal.seconds, detail=refusal.message)
        report_refused_api_key(value, client_address(request), surface=CredentialSurface.API)
        raise exceptions.AuthenticationFailed(message)

    def authenticate_header(self, request):
        return f'{KEYWORD} realm="api"'
