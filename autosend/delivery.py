"""Delivery of scheduled sends. The database row is the truth; the broker never holds a delay."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from autosend.models import ScheduledSend


def scheduled_sends_cancel_for_conversation(*, conversation_id: Any, reason: str) -> int:
    """Cancel every send still waiting in a conversation (a human replied, a newer message
    arrived). Rows already `sending` are left alone: their outcome is the transport's."""
    return ScheduledSend.objects.filter(
        conversation_id=conversation_id, status=ScheduledSend.Status.SCHEDULED
    ).update(
        status=ScheduledSend.Status.CANCELLED, cancel_reason=reason[:80], finished_at=timezone.now()
    )
