"""The portal pages for workload identities (namespace `identities`)."""

from django.urls import path

from . import views

app_name = "identities"

urlpatterns = [
    path("", views.workload_list, name="workload_list"),
    path("new/", views.workload_create, name="workload_create"),
    path("<slug:slug>/", views.workload_detail, name="workload_detail"),
    path("<slug:slug>/keys/", views.key_issue, name="key_issue"),
    path("<slug:slug>/keys/<int:key_id>/rotate/", views.key_rotate, name="key_rotate"),
    path("<slug:slug>/keys/<int:key_id>/revoke/", views.key_revoke, name="key_revoke"),
    path("<slug:slug>/suspend/", views.workload_suspend, name="workload_suspend"),
    path("<slug:slug>/reactivate/", views.workload_reactivate, name="workload_reactivate"),
]
