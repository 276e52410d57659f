"""The response-timing analytics page."""

from django.urls import path

from timing import views

urlpatterns = [
    path("timing/", views.timing_page, name="timing"),
]
