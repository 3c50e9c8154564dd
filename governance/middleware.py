"""Limits every request meets before any view parses it: body size and JSON depth.

A body over `MAX_REQUEST_BODY_BYTES` is a 413 before it is read; a JSON body nested
deeper than `MAX_JSON_DEPTH` is a 400 before any parser recurses into it (Python's JSON
decoder would run out of stack at a few thousand levels and turn the request into a 500).
Both answer in the error shape of the surface: the API's `{status, code, message,
fields}`, SCIM's Error message under /scim/.
"""

import re

from django.conf import settings
from django.http import JsonResponse

from governance.api.exceptions import error_json

# A JSON string (escapes included) or one bracket: strings are skipped whole, so brackets
# inside text are never counted as nesting.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset(b"[{")
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def json_depth_exceeds(body, limit):
    """True if `body` (JSON bytes, valid or not) nests arrays and objects deeper than `limit`."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # the common case, decided at C speed
    depth = 0
    for match in _JSON_TOKEN.finditer(body):
        char = match.group()[0]
        if char in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif char != ord('"'):
            depth -= 1
    return False


def _is_json(request):
    content_type = request.content_type or ""
    return content_type == "application/json" or content_type.endswith("+json")


def limit_answer(request, status, code, message):
    """The refusal in the error shape of the surface the request was for."""
    if request.path.startswith("/scim/"):
        scim_type = "invalidSyntax" if status == 400 else None
        body = {"schemas": [SCIM_ERROR], "status": str(status), "detail": message}
        if scim_type:
            body["scimType"] = scim_type
        return JsonResponse(body, status=status, content_type="application/scim+json")
    return error_json(status, message, code)


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        max_bytes = settings.MAX_REQUEST_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return limit_answer(request, 400, "invalid", "The Content-Length header is not a number.")
        if length > max_bytes:
            return limit_answer(
                request, 413, "too_large", f"The request body is larger than the limit of {max_bytes} bytes."
            )
        if length and request.method in {"POST", "PUT", "PATCH", "DELETE"} and _is_json(request):
            limit = settings.MAX_JSON_DEPTH
            if json_depth_exceeds(request.body, limit):
                return limit_answer(request, 400, "too_deep", f"The JSON body is nested deeper than {limit} levels.")
        return self.get_response(request)
