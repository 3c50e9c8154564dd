"""Access-review pages (namespace `reviews`)."""

from django.urls import path

from governance.reviews import views as review_views

app_name = "reviews"

urlpatterns = [
    path("", review_views.campaign_list, name="campaign_list"),
    path("<int:pk>/", review_views.campaign_detail, name="campaign_detail"),
]
