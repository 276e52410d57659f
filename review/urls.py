"""The review pages: the queue and the draft page (included from config.urls by name)."""

from django.urls import path

from review import views_draft, views_queue

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
]
