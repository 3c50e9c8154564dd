from django.contrib import admin
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("oidc/", include("identities.oidc")),
    path("scim/v2/", include("identities.scim.urls")),
]
