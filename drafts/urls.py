"""Operator pages and the inbound webhook."""

from django.urls import path

from drafts import views

urlpatterns = [
    path("", views.queue, name="queue"),
]
