"""Exceptions: every non-2xx answer of the Mandate API has one shape,

    {"status": 409, "code": "illegal_transition", "message": "…", "fields": {}}

and becomes one `MandateError` subclass chosen by its status, carrying `code`, `message`
(one sentence fit to show or log), `fields` (field → messages on a 400) and, on a 429,
`retry_after` in seconds. The guard adds `AccessPending` and `AccessDenied`, which carry
Mandate's reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import AccessRequest


class MandateError(Exception):
    """An error answer from Mandate (or no answer at all: `TransportError`)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        fields: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields: dict[str, Any] = fields or {}
        self.retry_after = retry_after

    def __str__(self) -> str:
        prefix = f"{self.status} {self.code}: " if self.status else ""
        return f"{prefix}{self.message}"


class BadRequest(MandateError):
    """400: the input is wrong; `fields` names each wrong field."""


class AuthenticationFailed(MandateError):
    """401: no key, a wrong or revoked key, or an invalid grant token."""


class PermissionDenied(MandateError):
    """403: the caller may see this but not do it (a suspended workload gets this everywhere
    but the authorization check)."""


class NotFound(MandateError):
    """404: it does not exist, or the caller may not see it."""


class Conflict(MandateError):
    """409: the state does not allow it (or an Idempotency-Key reused with another body)."""


class RateLimited(MandateError):
    """429: too many requests for this key; `retry_after` says when to come back."""


class ServerError(MandateError):
    """5xx: Mandate failed; retrying later may help."""


class TransportError(MandateError):
    """Mandate could not be reached (connection refused, timeout, TLS)."""


class DecisionTimeout(MandateError, TimeoutError):
    """`wait_for_decision` gave up: the request is still pending."""

    def __init__(self, message: str, *, request: AccessRequest) -> None:
        super().__init__(message, code="decision_timeout")
        self.request = request


class InvalidToken(MandateError):
    """A grant token failed offline verification (signature, key, lifetime or claims)."""


class AccessPending(MandateError):
    """No grant yet: a request waits for approval. Names the request, approvers and ticket."""

    def __init__(self, request: AccessRequest) -> None:
        approvers = ", ".join(request.approvers) or "the workflow's owners"
        ticket = f"; ticket {request.ticket.key} {request.ticket.url}".rstrip() if request.ticket else ""
        task = f" for task “{request.task_ref}”" if request.task_ref else ""
        message = (
            f"Access to “{request.scope}” in “{request.workflow}”{task} is pending approval: "
            f"request #{request.id}, approvers: {approvers}{ticket}."
        )
        super().__init__(message, code="access_pending")
        self.request = request
        self.approvers = list(request.approvers)
        self.ticket = request.ticket


class AccessDenied(MandateError):
    """Mandate said no (the check, or the request's decision); `reasons` says why."""

    def __init__(self, reasons: list[str], *, request: AccessRequest | None = None, scope: str = "") -> None:
        what = f"Access to “{scope}” denied" if scope else "Access denied"
        super().__init__(f"{what}: {' '.join(reasons) or 'no reason given.'}", code="access_denied")
        self.reasons = list(reasons)
        self.request = request


BY_STATUS: dict[int, type[MandateError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_from_response(status: int, body: Any, retry_after: float | None) -> MandateError:
    """The exception for a non-2xx answer; tolerant of bodies not in the API's shape."""
    if not isinstance(body, dict):
        body = {}
    message = str(body.get("message") or f"HTTP {status}")
    code = str(body.get("code") or "")
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    cls = BY_STATUS.get(status, ServerError if status >= 500 else MandateError)
    return cls(message, status=status, code=code, fields=fields, retry_after=retry_after)
