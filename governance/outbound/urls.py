"""Webhook subscription pages (namespace `webhooks`)."""

from django.urls import path

from governance.outbound import views

app_name = "webhooks"

urlpatterns = [
    path("", views.subscription_list, name="subscription_list"),
    path("new/", views.subscription_create, name="subscription_create"),
    path("<int:pk>/", views.subscription_detail, name="subscription_detail"),
    path("<int:pk>/rotate/", views.subscription_rotate, name="subscription_rotate"),
    path("<int:pk>/deliveries/<int:delivery_pk>/replay/", views.delivery_replay, name="delivery_replay"),
]
