"""HTTP plumbing shared by the remote adapters: timeouts, error classes, no secret leaks,
and `HttpTicketAdapter`, the base of every adapter that talks to its system over HTTP."""

import hashlib
import hmac
import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar

import requests

from .base import CheckResult, TicketAdapter
from .errors import TicketError

log = logging.getLogger("approvals.tickets")

# 408 and 429 are the server asking us to come back later; 5xx are its own trouble.
TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}

# Monotonic time by which the calls of the current delivery must be done (None: no limit).
_deadline = ContextVar("ticket_call_deadline", default=None)


@contextmanager
def time_budget(seconds):
    """Calls made inside finish within `seconds` in all, or fail as transient errors.

    The outbox relay delivers under a lease: a delivery that outlived it could run beside
    the next relay's retry of the same row and open a second ticket. Each call's timeouts
    are cut to what is left, and no call starts once the budget is spent.
    """
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _within_budget(timeout):
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    if isinstance(timeout, tuple):
        return tuple(min(t, left) for t in timeout)
    return min(timeout, left)


class HttpClient:
    """A thin `requests` wrapper that turns every failure into a `TicketError`.

    Messages carry the method, the path and the vendor's own error text (shortened), never
    headers, so credentials cannot end up in an error row or a log line.
    """

    def __init__(self, base_url, *, auth_headers=None, auth=None, timeout=(5, 20), session=None, vendor="remote"):
        self.base_url = (base_url or "").rstrip("/")
        self.auth_headers = auth_headers or {}
        self.auth = auth
        self.timeout = timeout
        self.session = session or requests.Session()
        self.vendor = vendor

    def url(self, path):
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def request(self, method, path, *, expected=(200, 201, 204), **kwargs):
        headers = {"Accept": "application/json", **self.auth_headers, **kwargs.pop("headers", {})}
        timeout = _within_budget(self.timeout)
        if timeout is None:
            raise TicketError(f"{self.vendor}: {method} {path} not tried: the delivery ran out of time.")
        try:
            response = self.session.request(
                method, self.url(path), headers=headers, auth=self.auth, timeout=timeout, **kwargs
            )
        except requests.Timeout:
            raise TicketError(f"{self.vendor}: {method} {path} timed out.", permanent=False)
        except requests.ConnectionError as exc:
            raise TicketError(f"{self.vendor}: cannot connect for {method} {path} ({type(exc).__name__}).")
        except requests.RequestException as exc:
            raise TicketError(f"{self.vendor}: {method} {path} failed ({type(exc).__name__}).", permanent=True)
        if response.status_code in expected:
            return response
        detail = short_error(response)
        message = f"{self.vendor}: {method} {path} answered {response.status_code}{detail}"
        if response.status_code in TRANSIENT_STATUSES:
            raise TicketError(message, permanent=False)
        if response.status_code in (401, 403):
            message += " — check the connection's credential and its permissions."
        log.info("ticket call refused: %s", message)
        raise TicketError(message, permanent=True)

    def json(self, method, path, **kwargs):
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise TicketError(f"{self.vendor}: {method} {path} did not answer JSON.", permanent=False)


def short_error(response, limit=300) -> str:
    try:
        data = response.json()
    except ValueError:
        text = (response.text or "").strip()
        return f": {text[:limit]}" if text else ""
    for key in ("errorMessages", "message", "error", "errors"):
        if key in data and data[key]:
            value = data[key]
            if isinstance(value, dict):
                value = value.get("message") or value
            return f": {str(value)[:limit]}"
    return ""


def hmac_signature_matches(secret: str, body: bytes, presented: str, *, prefix: str = "sha256=") -> bool:
    """Constant-time check of an HMAC-SHA256 body signature like `sha256=<hex>`."""
    if not secret or not presented or not presented.startswith(prefix):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, presented[len(prefix) :].strip().lower())


def sign(secret: str, body: bytes, *, prefix: str = "sha256=") -> str:
    """The signature a sender computes; used by tests and by the scrip examples of docs/ticket-queues.md."""
    return prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def header(headers: dict, name: str) -> str:
    """Case-insensitive header lookup over a plain dict."""
    lowered = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == lowered:
            return value
    return ""


def basic_or_bearer(secret: str, *, bearer_word="Bearer"):
    """`user:password` becomes HTTP basic auth; anything else a bearer-style token header."""
    if ":" in secret:
        user, _, password = secret.partition(":")
        return {}, (user, password)
    return {"Authorization": f"{bearer_word} {secret}"}, None


class HttpTicketAdapter(TicketAdapter):
    """An adapter whose system answers over HTTP: a client built for each use with the
    connection's credential and timeouts, webhooks signed HMAC-SHA256 in one header, and a
    configuration check that names missing fields before it calls anyone.

    Subclasses set `signature_header` and implement `check_remote` besides the contract.
    """

    #: The system's name in error messages (the label when empty).
    vendor = ""
    #: The header carrying a webhook's `sha256=<hex>` body signature.
    signature_header = ""

    @property
    def api_root(self):
        return self.config.base_url

    def credentials(self):
        """Headers and auth for every call: `user:password` is basic auth, else a bearer token."""
        return basic_or_bearer(self.secret())

    @property
    def http(self):
        headers, auth = self.credentials()
        return HttpClient(
            self.api_root,
            auth_headers=headers,
            auth=auth,
            timeout=self.request_timeout(),
            session=self._session,
            vendor=self.vendor or self.label,
        )

    def web_url(self, path):
        """A page of the system a person can open."""
        return f"{self.config.base_url.rstrip('/')}{path}"

    def verify_webhook(self, headers, body):
        return hmac_signature_matches(self.webhook_secret(), body, header(headers, self.signature_header))

    def check_configuration(self):
        missing = self.missing_fields()
        if missing:
            return CheckResult(False, tuple(f"Missing: {name}." for name in missing))
        try:
            return self.check_remote()
        except TicketError as exc:
            return CheckResult(False, (exc.message,))

    def check_remote(self) -> CheckResult:
        """Reach the configured project or queue without changing anything; a refusal is a
        TicketError (its message is the check's outcome)."""
        raise NotImplementedError
