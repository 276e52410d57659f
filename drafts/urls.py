"""The proposals and notifications pages and the inbound webhook (the queue and the draft
page are review.urls)."""

from django.urls import path

from drafts import views, webhooks

urlpatterns = [
    path("proposals/", views.proposals_page, name="proposals"),
    path(
        "proposals/batches/<uuid:batch_id>/<str:decision>",
        views.proposal_batch_view,
        name="proposal-batch",
    ),
    path(
        "proposals/<uuid:proposal_id>/<str:decision>", views.proposal_decide, name="proposal-decide"
    ),
    path("notifications/", views.notifications_page, name="notifications"),
    path(
        "notifications/<uuid:notification_id>/read",
        views.notification_read,
        name="notification-read",
    ),
    path("notifications/read-all", views.notifications_read_all, name="notifications-read-all"),
    path("webhooks/inbound/<str:channel_key>", webhooks.inbound_webhook, name="inbound-webhook"),
]
