"""What drafts tells the apps above it. They connect in their AppConfig.ready, so drafts
hands work upward without importing them (the layers in docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

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


# Message retention erased these messages' text (kwargs: message_ids). Sent in the
# transaction that erases them; pipeline drops the context packs its ended runs kept of the
# same text (pipeline.retention.run_context_packs_erase) and answers how many it dropped.
messages_erased = Signal()


def messages_erased_send(*, message_ids: Sequence[Any]) -> int:
    """Send `messages_erased`; returns how many copies the receivers erased. With no
    receiver, fail loudly rather than keep text the workspace asked to have erased."""
    answers = messages_erased.send(sender=None, message_ids=message_ids)
    if not answers:
        raise ImproperlyConfigured("nothing receives drafts.signals.messages_erased")
    erased = 0
    for _, count in answers:
        erased += cast(int, count)  # each receiver answers with a row count
    return erased
