from django.contrib import admin
from django.urls import include, path

from approvals.tokens import jwks_view

from .health import healthz
from .views.auth import SignInView, SignOutView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path("admin/", admin.site.urls),
    path("reviews/", include("governance.review_urls")),
    path("oidc/", include("identities.oidc")),
    path("scim/v2/", include("identities.scim.urls")),
    path("hooks/tickets/", include("approvals.ticket_hooks")),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("", include("governance.portal_urls")),
    path("workloads/", include("identities.urls")),
    path("access/", include("approvals.urls")),
]
