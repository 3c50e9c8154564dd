from django.urls import path

from governance.urls import urlpatterns as mandate_urls

from .reference import DurableReferenceView, ReferenceView

urlpatterns = [
    path("bench/reference/<int:pk>", ReferenceView.as_view()),
    path("bench/durable-reference/<int:pk>", DurableReferenceView.as_view()),
    *mandate_urls,
]
