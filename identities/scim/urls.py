# SCIM clients address resources without a trailing slash (RFC 7644 §3.2).
from django.urls import path

from . import discovery, views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", discovery.ServiceProviderConfigView.as_view(), name="service_provider_config"),
    path("ResourceTypes", discovery.ResourceTypesView.as_view(), name="resource_types"),
    path("ResourceTypes/<str:pk>", discovery.ResourceTypesView.as_view(), name="resource_type"),
    path("Schemas", discovery.SchemasView.as_view(), name="schemas"),
    path("Schemas/<str:pk>", discovery.SchemasView.as_view(), name="schema"),
    path(".search", views.RootSearchView.as_view(), name="search"),
    path("Users/.search", views.UserSearchView.as_view(), name="user_search"),
    path("Groups/.search", views.GroupSearchView.as_view(), name="group_search"),
    path("Users", views.UsersView.as_view(), name="users"),
    path("Users/<str:pk>", views.UserView.as_view(), name="user"),
    path("Groups", views.GroupsView.as_view(), name="groups"),
    path("Groups/<str:pk>", views.GroupView.as_view(), name="group"),
    path("<path:rest>", views.NotFoundView.as_view(), name="not_found"),
]
