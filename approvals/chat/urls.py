"""The notifications page (namespace `chat`)."""

from django.urls import path

from approvals.chat import views

app_name = "chat"

urlpatterns = [
    path("", views.notification_preferences, name="preferences"),
    path("slack/<int:pk>/unlink/", views.slack_unlink, name="slack_unlink"),
]
