"""One JSON error shape for the whole API.

    {"status": 409, "code": "illegal_transition", "message": "…", "fields": {}}

`message` is one sentence fit to show a person or log from an agent; `fields` maps a
field name to its messages on a 400 (empty otherwise). Domain errors from services
(`governance.exceptions`) keep their status and code; DRF's own errors (validation,
authentication, permission, not found, throttling) and Django's are mapped to the same
shape, so a client parses every non-2xx answer the same way.
"""

import logging
import math
import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from governance.api.throttling import failed_credentials_wait
from governance.exceptions import MandateError

NON_FIELD = "non_field_errors"
# The database cannot be reached (restarting, failing over, out of connections): the request
# did nothing, so the caller is told to come back rather than shown an internal error.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "The service is briefly unavailable; retry shortly."

logger = logging.getLogger(__name__)


def error_response(http_status, code, message, fields=None, headers=None):
    set_rollback()
    body = {"status": http_status, "code": code, "message": message, "fields": fields or {}}
    return Response(body, status=http_status, headers=headers)


def _as_messages(detail):
    """DRF error detail (str, list, dict, nested) → plain strings, dicts and lists."""
    if isinstance(detail, dict):
        return {str(key): _as_messages(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_as_messages(item) for item in detail]
    return str(detail)


def _first_message(fields):
    for name, messages in fields.items():
        while isinstance(messages, (list, dict)) and messages:
            messages = messages[0] if isinstance(messages, list) else next(iter(messages.values()))
        if isinstance(messages, str):
            return messages if name == NON_FIELD else f"{name}: {messages}"
    return "Invalid input."


def _validation_fields(detail):
    detail = _as_messages(detail)
    if isinstance(detail, dict):
        return {name: value if isinstance(value, (list, dict)) else [value] for name, value in detail.items()}
    return {NON_FIELD: detail if isinstance(detail, list) else [detail]}


def _django_validation_fields(exc):
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
    return {NON_FIELD: list(exc.messages)}


def api_exception_handler(exc, context):
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("database unavailable, answered 503: %s", f"{type(exc).__name__}: {exc}"[:300])
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return error_response(status.HTTP_503_SERVICE_UNAVAILABLE, "unavailable", UNAVAILABLE_MESSAGE, headers=headers)
    if isinstance(exc, MandateError):
        fields = {name: v if isinstance(v, list) else [v] for name, v in exc.field_errors.items()}
        return error_response(exc.http_status, exc.code, exc.message, fields)
    if isinstance(exc, DjangoValidationError):
        fields = _django_validation_fields(exc)
        return error_response(status.HTTP_400_BAD_REQUEST, "invalid", _first_message(fields), fields)
    if isinstance(exc, DataError):
        # A value the database cannot hold that no validator caught (length, range, NUL).
        return error_response(status.HTTP_400_BAD_REQUEST, "invalid", "A value is too long or out of range.")
    if isinstance(exc, IntegrityError):
        # A race lost against a database constraint (two creates of the same slug…).
        return error_response(
            status.HTTP_409_CONFLICT, "conflict", "The change conflicts with the current state; reload and retry."
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        # Rounded up: "0" would invite a retry that is refused again.
        headers["Retry-After"] = f"{math.ceil(exc.wait)}"
    if isinstance(exc, exceptions.ValidationError):
        fields = _validation_fields(exc.detail)
        return error_response(exc.status_code, "invalid", _first_message(fields), fields, headers)
    code = getattr(exc.detail, "code", None) or exc.default_code
    if isinstance(exc, exceptions.NotFound):
        code, message = "not_found", "Not found."
    else:
        message = str(exc.detail) if not isinstance(exc.detail, (list, dict)) else str(exc.default_detail)
    return error_response(exc.status_code, code, message, headers=headers)


ERROR_CODES = {400: "invalid", 401: "not_authenticated", 403: "permission_denied", 404: "not_found", 413: "too_large"}


def error_json(http_status, message, code=None):
    """The error shape as a plain Django response: for webhooks and middleware, outside DRF."""
    code = code or ERROR_CODES.get(http_status, "error")
    return JsonResponse({"status": http_status, "code": code, "message": message, "fields": {}}, status=http_status)


def failed_signature_answer(request, surface, message):
    """The answer to a webhook whose signature failed (the signature is its credential):
    401 with `message`, or the address's refusal in the API's error shape (429 with
    Retry-After, 403 `credentials_locked`). A good signature from the address still passes."""
    refusal = failed_credentials_wait(request, surface)
    if refusal is None:
        return error_json(401, message)
    if refusal.locked:
        return error_json(403, refusal.message, "credentials_locked")
    response = error_json(429, refusal.message, "throttled")
    response["Retry-After"] = str(refusal.seconds)
    return response


def json_for_api(default_handler, http_status, code, message):
    """A Django error handler that answers in the API's shape under /api/ and as HTML elsewhere."""

    def handler(request, *args, **kwargs):
        if request.path.startswith("/api/"):
            return error_json(http_status, message, code)
        return default_handler(request, *args, **kwargs)

    return handler


_server_error = json_for_api(defaults.server_error, 500, "server_error", "Internal error; it has been logged.")


def server_error(request, *args, **kwargs):
    """handler500: a database that cannot be reached is a 503 with Retry-After, anywhere.

    Django calls it inside its `except` (a failure in middleware, the session, a portal
    page), so the exception is still at hand.
    """
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_UNAVAILABLE):
        if request.path.startswith("/api/"):
            body = {"status": 503, "code": "unavailable", "message": UNAVAILABLE_MESSAGE, "fields": {}}
            response = JsonResponse(body, status=503)
        else:
            response = HttpResponse(UNAVAILABLE_MESSAGE, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return _server_error(request, *args, **kwargs)
