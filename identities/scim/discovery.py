"""The discovery endpoints of RFC 7644 §4: what the service supports, served from `schema.PROVIDER`."""

from django.urls import reverse
from scim2_models import Context

from .resources import LIST_SCHEMA, ScimError
from .schema import PROVIDER
from .views import ScimView, scim_response


def _dump(item):
    return item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _listing(items):
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


class DiscoveryView(ScimView):
    """Read-only: every other method is a 405."""

    http_method_names = ["get"]

    def located(self, body, resource_type, name, *args):
        body["meta"] = {
            "resourceType": resource_type,
            "location": self.request.build_absolute_uri(reverse(f"scim:{name}", args=args)),
        }
        return body


class ServiceProviderConfigView(DiscoveryView):
    def get(self, request):
        body = _dump(PROVIDER.config)
        body["documentationUri"] = request.build_absolute_uri("/api/docs/")
        return scim_response(self.located(body, "ServiceProviderConfig", "service_provider_config"))


class ResourceTypesView(DiscoveryView):
    def render(self, resource_type):
        return self.located(_dump(resource_type), "ResourceType", "resource_type", resource_type.id)

    def get(self, request, pk=None):
        if pk is None:
            return scim_response(_listing([self.render(t) for t in PROVIDER.resource_types]))
        for resource_type in PROVIDER.resource_types:
            if resource_type.id == pk:
                return scim_response(self.render(resource_type))
        raise ScimError(404, f"No resource type {pk}.")


class SchemasView(DiscoveryView):
    def render(self, schema):
        return self.located(_dump(schema), "Schema", "schema", schema.id)

    def get(self, request, pk=None):
        if pk is None:
            return scim_response(_listing([self.render(s) for s in PROVIDER.schemas]))
        for schema in PROVIDER.schemas:
            if schema.id.lower() == pk.lower():
                return scim_response(self.render(schema))
        raise ScimError(404, f"No schema {pk}.")
