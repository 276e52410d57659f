"""What drafts tells the apps above it. They connect in their AppConfig.ready, so drafts
hands work upward without importing them (the layers in docs/architecture.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

# A person answered in a conversation from another tool (kwargs: conversation_id, sent_at).
# Sent in the transaction that stores the human's message; autosend calls off the sends
# still waiting and supersedes older drafts (autosend.delivery.human_reply_record), so the
# AI never talks over a person.
human_replied = Signal()


def human_replied_send(*, conversation_id: Any, sent_at: datetime) -> None:
    """Send `human_replied`; with no receiver, fail loudly rather than let auto-send talk
    over the person."""
    if not human_replied.send(sender=None, conversation_id=conversation_id, sent_at=sent_at):
        raise ImproperlyConfigured("nothing receives drafts.signals.human_replied")
