"""The portal pages of the approvals app (namespace `approvals`)."""

from django.urls import path

from .views import grants, requests

app_name = "approvals"

urlpatterns = [
    path("requests/", requests.inbox, name="inbox"),
    path("requests/new/", requests.request_create, name="request_create"),
    path("requests/<int:pk>/", requests.request_detail, name="request_detail"),
    path("requests/<int:pk>/decide/", requests.request_decide, name="request_decide"),
    path("requests/<int:pk>/cancel/", requests.request_cancel, name="request_cancel"),
    path("grants/", grants.grant_list, name="grant_list"),
    path("grants/<int:pk>/", grants.grant_detail, name="grant_detail"),
    path("grants/<int:pk>/revoke/", grants.grant_revoke, name="grant_revoke"),
    path("grants/<int:pk>/extend/", grants.grant_extend, name="grant_extend"),
]
