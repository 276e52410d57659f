"""Operator notifications. Creating one is idempotent: the unique constraints on
`Notification` (one per kind and draft, or kind and message) turn a repeat into nothing."""

from __future__ import annotations

from typing import Any

from drafts.models import Notification


def notification_create(
    *,
    workspace_id: Any,
    kind: str,
    title: str,
    draft_id: Any = None,
    message_id: Any = None,
    user_id: Any = None,
    resurface: bool = False,
) -> None:
    """Add a notification unless the same kind already exists for the same draft (or, with
    no draft, the same message). Titles name what happened, never message text. With
    `resurface`, an existing one that was read is shown again (it happened again)."""
    if resurface and draft_id is not None:
        Notification.objects.filter(kind=kind, draft_id=draft_id, read_at__isnull=False).update(
            read_at=None
        )
    Notification.objects.bulk_create(
        [
            Notification(
                workspace_id=workspace_id,
                kind=kind,
                title=title[:300],
                draft_id=draft_id,
                message_id=message_id,
                user_id=user_id,
            )
        ],
        ignore_conflicts=True,
    )
