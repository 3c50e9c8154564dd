from django.contrib import admin
from django.urls import include, path

from approvals.tokens import jwks_view

from .health import healthz
from .views.auth import SignInView, SignOutView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    path("", include("governance.portal_urls")),
    path("workloads/", include("identities.urls")),
    path("access/", include("approvals.urls")),
]
