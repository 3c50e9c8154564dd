"""SCIM 2.0 endpoints under /scim/v2/: bearer token per identity source, JSON in and out."""

import json

from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..services import authenticate_provisioning_token
from . import actions, resources
from .resources import LIST_SCHEMA, ScimError

CONTENT_TYPE = "application/scim+json"
MAX_PAGE = 200

USER_FILTERS = {
    "id": "pk",
    "username": "username__iexact",
    "externalid": "external_id",
    "displayname": "display_name",
    "emails.value": "email__iexact",
    'emails[type eq "work"].value': "email__iexact",
}
GROUP_FILTERS = {"id": "pk", "displayname": "display_name__iexact", "externalid": "external_id"}


def scim_response(body, status=200, **headers):
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@method_decorator(csrf_exempt, name="dispatch")
class ScimView(View):
    """Authenticates the bearer token, parses the body and turns ScimError into RFC 7644 errors."""

    http_method_names = ["get", "post", "put", "patch", "delete"]

    def dispatch(self, request, *args, **kwargs):
        try:
            header = request.headers.get("Authorization", "")
            scheme, _, credential = header.partition(" ")
            token = authenticate_provisioning_token(credential.strip()) if scheme.lower() == "bearer" else None
            if token is None:
                raise ScimError(401, "A valid bearer token for an identity source is required.")
            self.source = token.identity_source
            if request.method in {"POST", "PUT", "PATCH"}:
                if not self.source.authoritative:
                    raise ScimError(403, f"{self.source} is not authoritative: Mandate does not take changes from it.")
                self.body = self._json(request)
            return super().dispatch(request, *args, **kwargs)
        except ScimError as exc:
            headers = {"WWW_Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else {}
            return scim_response(exc.as_dict(), status=exc.status, **headers)

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise ScimError(405, f"{request.method} is not supported here.")

    @staticmethod
    def _json(request):
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise ScimError(400, "The body is not valid JSON.", "invalidSyntax")
        if not isinstance(body, dict):
            raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
        return body

    def location(self, name, pk):
        return self.request.build_absolute_uri(reverse(f"scim:{name}", args=[pk]))

    def listing(self, queryset, filters, render):
        """A ListResponse: `filter`, 1-based `startIndex`, `count` (RFC 7644 §3.4.2)."""
        params = self.request.GET
        if params.get("filter"):
            for lookup, value in resources.parse_filter(params["filter"], filters):
                if lookup == "pk" and not value.isdigit():
                    queryset = queryset.none()
                    continue
                queryset = queryset.filter(**{lookup: value})
        try:
            start = max(int(params.get("startIndex", 1)), 1)
            count = min(max(int(params.get("count", 100)), 0), MAX_PAGE)
        except ValueError:
            raise ScimError(400, "startIndex and count must be integers.", "invalidValue")
        queryset = queryset.order_by("pk")
        page = list(queryset[start - 1 : start - 1 + count]) if count else []
        return scim_response(
            {
                "schemas": [LIST_SCHEMA],
                "totalResults": queryset.count(),
                "startIndex": start,
                "itemsPerPage": len(page),
                "Resources": [render(item) for item in page],
            }
        )


class UsersView(ScimView):
    http_method_names = ["get", "post"]

    def get(self, request):
        queryset = actions.people(self.source).prefetch_related("directory_groups").select_related("manager")
        return self.listing(queryset, USER_FILTERS, self.render)

    def post(self, request):
        user = actions.create_person(self.source, self.body)
        return scim_response(self.render(user), status=201, Location=self.location("user", user.pk))

    def render(self, user):
        return resources.user_resource(user, self.location("user", user.pk))


class UserView(UsersView):
    http_method_names = ["get", "put", "patch", "delete"]

    def get(self, request, pk):
        return scim_response(self.render(actions.find_person(self.source, pk)))

    def put(self, request, pk):
        user = actions.replace_person(self.source, actions.find_person(self.source, pk), self.body)
        return scim_response(self.render(user))

    def patch(self, request, pk):
        user = actions.find_person(self.source, pk)
        user = actions.patch_person(self.source, user, self.body, self.location("user", user.pk))
        return scim_response(self.render(user))

    def delete(self, request, pk):
        actions.delete_person(self.source, actions.find_person(self.source, pk))
        return HttpResponse(status=204)


class GroupsView(ScimView):
    http_method_names = ["get", "post"]

    def get(self, request):
        queryset = actions.groups(self.source).prefetch_related("members")
        return self.listing(queryset, GROUP_FILTERS, self.render)

    def post(self, request):
        group = actions.create_group(self.source, self.body)
        return scim_response(self.render(group), status=201, Location=self.location("group", group.pk))

    def render(self, group):
        excluded = {a.strip().lower() for a in self.request.GET.get("excludedAttributes", "").split(",")}
        return resources.group_resource(group, self.location("group", group.pk), with_members="members" not in excluded)


class GroupView(GroupsView):
    http_method_names = ["get", "put", "patch", "delete"]

    def get(self, request, pk):
        return scim_response(self.render(actions.find_group(self.source, pk)))

    def put(self, request, pk):
        return scim_response(
            self.render(actions.replace_group(self.source, actions.find_group(self.source, pk), self.body))
        )

    def patch(self, request, pk):
        return scim_response(
            self.render(actions.patch_group(self.source, actions.find_group(self.source, pk), self.body))
        )

    def delete(self, request, pk):
        actions.delete_group(self.source, actions.find_group(self.source, pk))
        return HttpResponse(status=204)


class ServiceProviderConfigView(ScimView):
    http_method_names = ["get"]

    def get(self, request):
        return scim_response(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "documentationUri": request.build_absolute_uri("/"),
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": True, "maxResults": MAX_PAGE},
                "changePassword": {"supported": False},
                "sort": {"supported": False},
                "etag": {"supported": False},
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "Bearer token",
                        "description": "A provisioning token issued by `manage.py issue_scim_token`.",
                        "primary": True,
                    }
                ],
                "meta": {"resourceType": "ServiceProviderConfig", "location": request.build_absolute_uri()},
            }
        )


class ResourceTypesView(ScimView):
    http_method_names = ["get"]

    def get(self, request):
        types = [
            ("User", "Users", resources.USER_SCHEMA, [resources.ENTERPRISE_SCHEMA]),
            ("Group", "Groups", resources.GROUP_SCHEMA, []),
        ]
        items = [
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": name,
                "name": name,
                "endpoint": f"/{endpoint}",
                "schema": schema,
                "schemaExtensions": [{"schema": extension, "required": False} for extension in extensions],
                "meta": {"resourceType": "ResourceType", "location": request.build_absolute_uri(name)},
            }
            for name, endpoint, schema, extensions in types
        ]
        body = {"schemas": [LIST_SCHEMA], "totalResults": 2, "startIndex": 1, "itemsPerPage": 2, "Resources": items}
        return scim_response(body)
