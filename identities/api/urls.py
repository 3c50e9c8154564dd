from rest_framework.routers import DefaultRouter

from .views import ApiKeyViewSet, WorkloadIdentityViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("workload-identities", WorkloadIdentityViewSet, basename="workload-identity")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
