"""Operator pages and the inbound webhook."""

from django.urls import path

from drafts import views, webhooks

urlpatterns = [
    path("", views.queue, name="queue"),
    path("drafts/<uuid:draft_id>", views.draft_detail, name="draft-detail"),
    path("drafts/<uuid:draft_id>/approve", views.draft_approve_view, name="draft-approve"),
    path("drafts/<uuid:draft_id>/reject", views.draft_reject_view, name="draft-reject"),
    path("drafts/<uuid:draft_id>/hold", views.draft_hold_renew, name="draft-hold"),
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
