"""Operator pages and the inbound webhook."""

from django.urls import path

from drafts import views, webhooks

urlpatterns = [
    path("", views.queue, name="queue"),
    path("webhooks/inbound/<str:channel_key>", webhooks.inbound_webhook, name="inbound-webhook"),
]
