from django.urls import path
from rest_framework.routers import DefaultRouter

from . import schema  # noqa: F401  (registers the Bearer scheme with drf-spectacular)
from .evidence import EvidenceBatchView
from .views import EntitlementViewSet, PolicyViewSet, WorkflowViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("entitlements", EntitlementViewSet, basename="entitlement")
router.register("policies", PolicyViewSet, basename="policy")

urlpatterns = [*router.urls, path("evidence/", EvidenceBatchView.as_view(), name="evidence")]
