from django.urls import path
from rest_framework.routers import DefaultRouter

from governance.reviews.api.views import ReviewCampaignViewSet, ReviewItemViewSet

from . import schema  # noqa: F401  (registers the Bearer scheme with drf-spectacular)
from .evidence import EvidenceBatchView
from .views import EntitlementViewSet, PolicyViewSet, WorkflowViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("entitlements", EntitlementViewSet, basename="entitlement")
router.register("policies", PolicyViewSet, basename="policy")
router.register("reviews", ReviewCampaignViewSet, basename="review")
router.register("review-items", ReviewItemViewSet, basename="review-item")

urlpatterns = [*router.urls, path("evidence/", EvidenceBatchView.as_view(), name="evidence")]
