"""Operator pages and the inbound webhook."""

from django.urls import path

from drafts import views, views_draft, views_queue, webhooks

urlpatterns = [
    path("", views_queue.queue, name="queue"),
    path("queue/list", views_queue.queue_list, name="queue-list"),
    path("queue/bulk", views_queue.queue_bulk, name="queue-bulk"),
    path("queue/undo", views_queue.queue_undo, name="queue-undo"),
    path("queue/<uuid:draft_id>/approve", views_queue.queue_approve, name="queue-approve"),
    path("queue/<uuid:draft_id>/assign", views_queue.queue_assign, name="queue-assign"),
    path("drafts/<uuid:draft_id>", views_draft.draft_detail, name="draft-detail"),
    path("drafts/<uuid:draft_id>/approve", views_draft.draft_approve_view, name="draft-approve"),
    path("drafts/<uuid:draft_id>/reject", views_draft.draft_reject_view, name="draft-reject"),
    path("drafts/<uuid:draft_id>/hold", views_draft.draft_hold_renew, name="draft-hold"),
    path(
        "drafts/<uuid:draft_id>/release",
        views_draft.draft_hold_release_view,
        name="draft-hold-release",
    ),
    path("drafts/<uuid:draft_id>/undo", views_draft.draft_undo_view, name="draft-undo"),
    path("drafts/<uuid:draft_id>/reply", views_draft.draft_reply_view, name="draft-reply"),
    path("drafts/<uuid:draft_id>/assign", views_draft.draft_assign_view, name="draft-assign"),
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
