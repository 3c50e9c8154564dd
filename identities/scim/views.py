"""SCIM 2.0 endpoints under /scim/v2/: bearer token per identity source, JSON in and out."""

import json

from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import SCIMException

from governance.api.throttling import failed_credentials_wait

from ..choices import CredentialSurface
from ..services import authenticate_provisioning_token
from . import actions, protocol, resources
from .resources import LIST_SCHEMA, ScimError
from .schema import Group, UserResource

CONTENT_TYPE = "application/scim+json"
MAX_BODY = 1024 * 1024


def scim_response(body, status=200, **headers):
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _has_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


@method_decorator(csrf_exempt, name="dispatch")
class ScimView(View):
    """Authenticates the bearer token, parses the body and turns errors into RFC 7644 errors."""

    http_method_names = ["get", "post", "put", "patch", "delete"]
    takes_body = True

    def dispatch(self, request, *args, **kwargs):
        try:
            header = request.headers.get("Authorization", "")
            scheme, _, credential = header.partition(" ")
            presented = credential.strip() if scheme.lower() == "bearer" else ""
            token = authenticate_provisioning_token(presented) if presented else None
            if token is None:
                raise self.refusal(request, presented)
            self.source = token.identity_source
            if any("\x00" in value for values in request.GET.lists() for value in [values[0], *values[1]]):
                raise ScimError(400, "Query parameters must not contain NUL characters.", "invalidValue")
            if request.method.lower() not in self.http_method_names:
                return self.http_method_not_allowed(request)
            if request.method in {"POST", "PUT", "PATCH"} and self.takes_body:
                if not self.source.authoritative:
                    raise ScimError(403, f"{self.source} is not authoritative: Mandate does not take changes from it.")
                self.body = self._json(request)
            return super().dispatch(request, *args, **kwargs)
        except ScimError as exc:
            headers = {"WWW_Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else {}
            if getattr(exc, "retry_after", None):
                headers["Retry_After"] = str(exc.retry_after)
            if exc.status == 405:
                headers["Allow"] = ", ".join(m.upper() for m in self.http_method_names)
            return scim_response(exc.as_dict(), status=exc.status, **headers)
        except (SCIMException, ValidationError) as exc:
            error = protocol._as_scim_error(exc, "invalidValue")
            return scim_response(error.as_dict(), status=error.status)

    @staticmethod
    def refusal(request, presented):
        """A token was missing or failed: 401. A presented one counts against the client's
        address with every other machine credential, so an address refused for guessing API
        keys cannot go on here: 429 with Retry-After while it waits, 403 while it is locked."""
        refusal = failed_credentials_wait(request, CredentialSurface.SCIM) if presented else None
        if refusal is None:
            return ScimError(401, "A valid bearer token for an identity source is required.")
        error = ScimError(refusal.status, refusal.message)
        error.retry_after = refusal.seconds
        return error

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise ScimError(405, f"{request.method} is not supported here.")

    @staticmethod
    def _json(request):
        if len(request.body) > MAX_BODY:
            raise ScimError(413, f"A request body may hold at most {MAX_BODY} bytes.")
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ScimError(400, "The body is not valid JSON.", "invalidSyntax")
        if not isinstance(body, dict):
            raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
        if _has_nul(body):
            raise ScimError(400, "Values must not contain NUL characters.", "invalidValue")
        return body

    def location(self, name, pk):
        return self.request.build_absolute_uri(reverse(f"scim:{name}", args=[pk]))


class ResourceView(ScimView):
    """One kind of resource: listing, creation, and one resource by id with ETags."""

    model = None  # the scim2-models class, for parameters and attribute selection
    fields = None  # protocol.USER_FIELDS / GROUP_FIELDS
    name = ""  # URL name of one resource

    def queryset(self):
        raise NotImplementedError

    def find(self, pk):
        raise NotImplementedError

    def represent(self, item):
        raise NotImplementedError

    def render(self, item, *, status=200, params=None, **headers):
        representation = self.represent(item)
        params = protocol.response_parameters(self.request.GET, self.model) if params is None else params
        body = protocol.render(self.model, representation, params)
        if "version" in representation["meta"]:
            headers["ETag"] = representation["meta"]["version"]
        return scim_response(body, status=status, **headers)

    def current(self, pk):
        """The resource `pk`, after checking If-Match (RFC 7644 §3.14) for a write."""
        item = self.find(pk)
        wanted = self.request.headers.get("If-Match")
        if wanted and wanted.strip() != "*":
            version = self.represent(item)["meta"]["version"]
            if version not in {tag.strip() for tag in wanted.split(",")}:
                raise ScimError(412, "The resource changed since that version was read.")
        return item

    def list(self, query=None):
        """A ListResponse (RFC 7644 §3.4.2) for GET ?… or the body of POST …/.search (§3.4.3)."""
        query = self.request.GET if query is None else query
        params = protocol.search(query, self.model)
        queryset = self.queryset()
        if query.get("filter"):
            if not isinstance(query["filter"], str):
                raise ScimError(400, "“filter” must be a string.", "invalidFilter")
            queryset = queryset.filter(protocol.filter_q(query["filter"], self.fields)).distinct()
        queryset = queryset.order_by(*protocol.ordering(params, self.fields))
        start, count = protocol.page_bounds(params)
        page = list(queryset[start - 1 : start - 1 + count]) if count else []
        return scim_response(
            {
                "schemas": [LIST_SCHEMA],
                "totalResults": queryset.count(),
                "startIndex": start,
                "itemsPerPage": len(page),
                "Resources": [protocol.render(self.model, self.represent(item), params) for item in page],
            }
        )

    def get(self, request, pk=None):
        if pk is None:
            return self.list()
        item = self.find(pk)
        version = self.represent(item)["meta"]["version"]
        if version in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
            return HttpResponse(status=304, headers={"ETag": version})
        return self.render(item)


class UsersView(ResourceView):
    http_method_names = ["get", "post"]
    model = UserResource
    fields = protocol.USER_FIELDS
    name = "user"

    def queryset(self):
        return actions.people(self.source).prefetch_related("directory_groups").select_related("manager")

    def find(self, pk):
        actions.find_person(self.source, pk)
        return self.queryset().get(pk=pk)

    def represent(self, user):
        return resources.user_resource(user, self.location("user", user.pk))

    def post(self, request):
        user = actions.create_person(self.source, self.body)
        return self.render(self.find(user.pk), status=201, Location=self.location("user", user.pk))


class UserView(UsersView):
    http_method_names = ["get", "put", "patch", "delete"]

    def put(self, request, pk):
        user = actions.replace_person(self.source, self.current(pk), self.body)
        return self.render(self.find(user.pk))

    def patch(self, request, pk):
        user = self.current(pk)
        user = actions.patch_person(self.source, user, self.body, self.location("user", user.pk))
        return self.render(self.find(user.pk))

    def delete(self, request, pk):
        actions.delete_person(self.source, self.current(pk))
        return HttpResponse(status=204)


class GroupsView(ResourceView):
    http_method_names = ["get", "post"]
    model = Group
    fields = protocol.GROUP_FIELDS
    name = "group"

    def queryset(self):
        return actions.groups(self.source)

    def find(self, pk):
        return actions.find_group(self.source, pk)

    def represent(self, group):
        # Entra ID reads groups with excludedAttributes=members: skip loading them then.
        excluded = {a.strip().lower() for a in self.request.GET.get("excludedAttributes", "").split(",")}
        attributes = {a.strip().lower() for a in self.request.GET.get("attributes", "").split(",") if a.strip()}
        with_members = "members" not in excluded and (not attributes or bool({"members", "members.value"} & attributes))
        return resources.group_resource(group, self.location("group", group.pk), with_members=with_members)

    def post(self, request):
        group = actions.create_group(self.source, self.body)
        return self.render(group, status=201, Location=self.location("group", group.pk))


class GroupView(GroupsView):
    http_method_names = ["get", "put", "patch", "delete"]

    def put(self, request, pk):
        return self.render(actions.replace_group(self.source, self.current(pk), self.body))

    def patch(self, request, pk):
        group = self.current(pk)
        return self.render(actions.patch_group(self.source, group, self.body, self.location("group", group.pk)))

    def delete(self, request, pk):
        actions.delete_group(self.source, self.current(pk))
        return HttpResponse(status=204)


class UserSearchView(UsersView):
    http_method_names = ["post"]

    def post(self, request):
        return self.list(self.body)


class GroupSearchView(GroupsView):
    http_method_names = ["post"]

    def post(self, request):
        return self.list(self.body)


class RootSearchView(ScimView):
    http_method_names = ["post"]
    takes_body = False

    def post(self, request):
        raise ScimError(501, "Search one resource type at a time: POST /Users/.search or /Groups/.search.")


class NotFoundView(ScimView):
    """Anything else under /scim/v2/: a SCIM 404 rather than the portal's HTML page."""

    http_method_names = ["get", "post", "put", "patch", "delete"]
    takes_body = False

    def get(self, request, rest):
        raise ScimError(404, f"/scim/v2/{rest} does not exist.")

    post = put = patch = delete = get
