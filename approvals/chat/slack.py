"""Slack's Web API through `slack_sdk`, and the check of Slack's request signatures.

Every failure becomes a `TicketError` that knows whether a retry can help (the outbox
retries those with backoff): rate limits, Slack's own trouble and network errors are
transient; a revoked token, a channel the app is not in or a malformed message are not.
Errors carry Slack's error code, never the token.
"""

import hmac
import logging
import time
from urllib.error import URLError

from django.conf import settings
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.signature import SignatureVerifier

from approvals.chat.models import SlackConnection
from approvals.tickets import TicketError

log = logging.getLogger("approvals.chat")

# Slack's own trouble, or Slack asking us to come back later.
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# Slack refuses a request older than this, and so does Mandate (Slack's documented window).
SIGNATURE_MAX_AGE_SECONDS = 5 * 60


def client(connection, *, timeout=10):
    return WebClient(token=connection.bot_token, base_url=settings.SLACK_API_URL, timeout=timeout)


def call(connection, method, **kwargs):
    """Call a Web API method (`chat_postMessage`…); returns Slack's answer as a dict.

    Keeps the connection's last success / last error current (shown in the admin).
    """
    name = method.replace("_", ".", 1)
    try:
        answer = getattr(client(connection), method)(**kwargs).data
    except SlackApiError as exc:
        status = exc.response.status_code
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = data.get("error", "")
        transient = status >= 500 or status == 429 or error in TRANSIENT_ERRORS
        failure = TicketError(
            f"Slack {name} answered {status} {error or 'without an error code'}.", permanent=not transient
        )
    except (URLError, TimeoutError, ConnectionError, SlackRequestError) as exc:
        failure = TicketError(f"Slack {name}: cannot reach Slack ({type(exc).__name__}).", permanent=False)
    else:
        _record(connection)
        return answer
    _record(connection, failure.message)
    raise failure


def _record(connection, error=""):
    now = timezone.now()
    if error:
        SlackConnection.objects.filter(pk=connection.pk).update(last_error=error[:2000], last_error_at=now)
    else:
        SlackConnection.objects.filter(pk=connection.pk).update(last_success_at=now, last_error="")


class SignatureRefused(Exception):
    """A request that does not come from Slack, or not now. `message` is safe to answer."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def verify_signature(signing_secret, *, timestamp, signature, body, now=None):
    """Check Slack's `v0` signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the
    signing secret, compared in constant time; a timestamp more than five minutes away
    from now is refused whatever its signature (so a captured request cannot be replayed
    later). Raises SignatureRefused."""
    now = time.time() if now is None else now
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        raise SignatureRefused("The request has no valid X-Slack-Request-Timestamp.")
    if abs(now - stamp) > SIGNATURE_MAX_AGE_SECONDS:
        raise SignatureRefused("The request is too old (or from the future) to be trusted.")
    if not signing_secret or not signature:
        raise SignatureRefused("The request is not signed.")
    expected = SignatureVerifier(signing_secret).generate_signature(timestamp=str(stamp), body=body)
    if not hmac.compare_digest(expected.encode(), str(signature).encode()):
        raise SignatureRefused("The request's signature does not match.")
