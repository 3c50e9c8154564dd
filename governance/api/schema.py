"""OpenAPI details shared by every endpoint: the error shape and which errors can happen.

`MandateAutoSchema` adds the error responses every operation can give (401 without
credentials, 403, 429 from throttling, 404 on a path with an id, 400 on writes and on
lists with filters, 409 on writes, 413 on writes with a body) unless the view already documents that status, so the
schema is accurate without repeating those on every action.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(
        help_text="Machine-readable: invalid, not_authenticated, authentication_failed, permission_denied, "
        "not_allowed, not_found, illegal_transition, conflict, throttled…"
    )
    message = serializers.CharField(help_text="One sentence for a person or a log.")
    fields = serializers.DictField(
        child=serializers.JSONField(), help_text="Field name → list of messages (400 only; else empty)."
    )


ERROR_DESCRIPTIONS = {
    400: "Invalid input; `fields` names each wrong field.",
    401: "No credentials, or an invalid, expired or revoked key.",
    403: "The caller may see this but may not do it (or is a suspended workload).",
    404: "No such object, or the caller may not see it.",
    409: "The object's state does not allow this change.",
    413: "The body is larger than `MAX_REQUEST_BODY_BYTES`.",
    429: "Too many requests for this key; retry after `Retry-After` seconds.",
}


def error(status_code, description=None):
    return OpenApiResponse(ErrorSerializer, description=description or ERROR_DESCRIPTIONS[status_code])


def errors(*status_codes):
    """`responses=` entries for these error statuses, with the standard descriptions."""
    return {code: error(code) for code in status_codes}


class MandateAutoSchema(AutoSchema):
    def _default_error_codes(self):
        codes = {401, 403, 429}
        if "{" in self.path:
            codes.add(404)
        if self.method in {"POST", "PUT", "PATCH", "DELETE"}:
            codes.update({400, 409})
        if self.method in {"POST", "PUT", "PATCH"}:
            codes.add(413)
        if self.method == "GET" and self._is_list_view():
            codes.add(400)
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._default_error_codes()):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(error(code), str(code), direction=direction)
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "governance.api.authentication.ApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")
        scheme["description"] = "A workload API key or a person's personal access token (`mdt_…`)."
        return scheme


class GrantTokenScheme(OpenApiAuthenticationExtension):
    target_class = "approvals.api.authentication.GrantTokenAuthentication"
    name = "grantToken"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")
        scheme.update(
            bearerFormat="JWT",
            description="A workload's grant token (ES256 JWT from an access request); the authorization check only.",
        )
        return scheme
