"""`GET /api/v1/`: where the API starts — its resources, its actions, its schema and docs."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# Each list by the name it answers under, and the actions that are not resources.
RESOURCES = {
    "workflows": "api:workflow-list",
    "entitlements": "api:entitlement-list",
    "policies": "api:policy-list",
    "workload_identities": "api:workload-identity-list",
    "api_keys": "api:api-key-list",
    "access_requests": "api:access-request-list",
    "grants": "api:grant-list",
    "reviews": "api:review-list",
    "review_items": "api:review-item-list",
    "queue_connections": "api:queue-connection-list",
}
ACTIONS = {"authorize": "api:authorize", "tasks_complete": "api:tasks-complete", "evidence": "api:evidence"}


class ApiRootView(APIView):
    """Open to anyone: it names the doors, and every door checks its own credentials."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        def links(names):
            return {name: reverse(url_name, request=request) for name, url_name in names.items()}

        return Response(
            {
                "resources": links(RESOURCES),
                "actions": links(ACTIONS),
                "schema": reverse("api-schema", request=request),
                "docs": reverse("api-docs", request=request),
                "authentication": "Authorization: Bearer <API key> (or the portal's session); see the docs.",
            }
        )
