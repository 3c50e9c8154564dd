"""The portal pages of the governance app (namespace `governance`)."""

from django.urls import path

from .views import changes, dashboard, registry_files, search, workflows

app_name = "governance"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("search/", search.search_page, name="search"),
    path("changes/<int:pk>/", changes.change_detail, name="change_detail"),
    path("registry/drift/", registry_files.registry_drift, name="registry_drift"),
    path("workflows/", workflows.workflow_list, name="workflow_list"),
    path("workflows/new/", workflows.workflow_create, name="workflow_create"),
    path("workflows/<slug:slug>/", workflows.workflow_detail, name="workflow_detail"),
    path("workflows/<slug:slug>/edit/", workflows.workflow_edit, name="workflow_edit"),
    path("workflows/<slug:slug>/<slug:tab>/", workflows.workflow_detail, name="workflow_tab"),
]
