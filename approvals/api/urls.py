from django.urls import path
from rest_framework.routers import DefaultRouter

from approvals.queues.api import QueueConnectionViewSet

from .views import AccessRequestViewSet, AuthorizeView, CompleteTaskView, GrantViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("access-requests", AccessRequestViewSet, basename="access-request")
router.register("grants", GrantViewSet, basename="grant")
router.register("queue-connections", QueueConnectionViewSet, basename="queue-connection")

# Resolved before every other API route (governance/urls.py): agents call it before each
# tool call, and trying the hundred routes ahead of it cost more than its database work.
authorize_urlpatterns = [path("authorize", AuthorizeView.as_view(), name="authorize")]

urlpatterns = [
    *router.urls,
    path("tasks/complete", CompleteTaskView.as_view(), name="tasks-complete"),
]
