from django.urls import path

from governance.urls import urlpatterns as mandate_urls

from .reference import ReferenceView

urlpatterns = [path("bench/reference/<int:pk>", ReferenceView.as_view()), *mandate_urls]
