from django.urls import path
from rest_framework.routers import DefaultRouter

from governance.reviews.api.views import ReviewCampaignViewSet, ReviewItemViewSet

from . import schema  # noqa: F401  (registers the Bearer scheme with drf-spectacular)
from .changes import RegistryChangeViewSet
from .evidence import EvidenceBatchView
from .exports import EvidenceExportView, OcsfExportView, WorkloadInventoryView
from .findings import FindingViewSet
from .registry import (
    RegistryApplyView,
    RegistryDriftView,
    RegistryExportView,
    RegistryPlanView,
    RegistrySchemaView,
)
from .views import EntitlementViewSet, PolicyViewSet, WorkflowViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("entitlements", EntitlementViewSet, basename="entitlement")
router.register("policies", PolicyViewSet, basename="policy")
router.register("registry-changes", RegistryChangeViewSet, basename="registry-change")
router.register("reviews", ReviewCampaignViewSet, basename="review")
router.register("review-items", ReviewItemViewSet, basename="review-item")
router.register("findings", FindingViewSet, basename="finding")

urlpatterns = [
    *router.urls,
    path("evidence/", EvidenceBatchView.as_view(), name="evidence"),
    path("evidence/ocsf/", OcsfExportView.as_view(), name="evidence-ocsf"),
    path("evidence/export/", EvidenceExportView.as_view(), name="evidence-export"),
    path("workload-inventory/", WorkloadInventoryView.as_view(), name="workload-inventory"),
    path("registry/schema", RegistrySchemaView.as_view(), name="registry-schema"),
    path("registry/export", RegistryExportView.as_view(), name="registry-export"),
    path("registry/plan", RegistryPlanView.as_view(), name="registry-plan"),
    path("registry/apply", RegistryApplyView.as_view(), name="registry-apply"),
    path("registry/drift", RegistryDriftView.as_view(), name="registry-drift"),
]
