from django.contrib import admin
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from approvals.api.urls import authorize_urlpatterns
from approvals.tokens import jwks_view

from .api.exceptions import json_for_api, server_error
from .api.root import ApiRootView
from .health import healthz
from .metrics.views import metrics
from .views.auth import SignInView, SignOutView
from .views.evidence_keys import evidence_keys_view

api_v1 = [
    *authorize_urlpatterns,
    path("", ApiRootView.as_view(), name="root"),
    path("", include("governance.api.urls")),
    path("", include("identities.api.urls")),
    path("", include("approvals.api.urls")),
]

urlpatterns = [
    # The API first: the authorization check is the most frequent request by far.
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path(".well-known/evidence-keys.json", evidence_keys_view, name="evidence-keys"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("reviews/", include("governance.reviews.urls")),
    path("webhooks/", include("governance.outbound.urls")),
    path("notifications/", include("approvals.chat.urls")),
    path("oidc/", include("identities.oidc")),
    path("scim/v2/", include("identities.scim.urls")),
    path("hooks/tickets/", include("approvals.queues.webhooks")),
    path("hooks/slack/", include("approvals.chat.webhooks")),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    # Before the portal: its `workflows/<slug>/<tab>/` would otherwise catch `…/alignment/`.
    path("", include("governance.audit_urls")),
    path("", include("governance.portal_urls")),
    path("workloads/", include("identities.urls")),
    path("access/", include("approvals.urls")),
]

# Outside DRF's views (an unknown /api/ path, a crash in middleware) the API still answers JSON.
handler404 = json_for_api(defaults.page_not_found, 404, "not_found", "Not found.")
handler500 = server_error
