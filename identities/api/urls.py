from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.routers import DefaultRouter

from .views import ApiKeyViewSet, WorkloadIdentityViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("workload-identities", WorkloadIdentityViewSet, basename="workload-identity")
router.register("api-keys", ApiKeyViewSet, basename="api-key")


# The dossier also answers without the trailing slash (documented once, with it).
@extend_schema_view(dossier=extend_schema(exclude=True))
class DossierWithoutSlash(WorkloadIdentityViewSet):
    pass


dossier = DossierWithoutSlash.as_view({"get": "dossier"}, detail=True)

urlpatterns = [
    path("workload-identities/<slug:slug>/dossier", dossier, name="workload-identity-dossier-bare"),
    *router.urls,
]
