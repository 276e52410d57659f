"""The draft state machine: the one table of allowed moves and the one function that makes
them, as compare-and-swap updates (a second worker or a double click changes nothing)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from drafts.models import Draft

S = Draft.Status

# pending → scheduled when auto-send (or an approval) books a send; scheduled → pending when a
# booked automatic send is called off for review (kill switch, changed thread); rejected →
# pending only inside `drafts.handwritten` (the operator's own reply, booked in the same
# transaction); sent and superseded are final.
ALLOWED: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.SCHEDULED, S.SENT, S.REJECTED, S.SUPERSEDED}),
    S.SCHEDULED: frozenset({S.SENT, S.PENDING, S.REJECTED, S.SUPERSEDED}),
    S.SENT: frozenset(),
    S.REJECTED: frozenset({S.PENDING}),
    S.SUPERSEDED: frozenset(),
}


class IllegalTransition(ValueError):
    pass


def draft_transition(*, draft_id: Any, from_status: str, to_status: str, **fields: Any) -> bool:
    """Move a draft from `from_status` to `to_status` if it is still there. True if this call
    made the move; False if the draft had already moved (someone else won)."""
    if to_status not in ALLOWED[from_status]:
        raise IllegalTransition(f"draft cannot go from {from_status} to {to_status}")
    updated = Draft.objects.filter(pk=draft_id, status=from_status).update(
        status=to_status, updated_at=timezone.now(), **fields
    )
    return updated == 1


def drafts_supersede_in_conversation(*, conversation_id: Any, before: Any = None) -> int:
    """Mark open drafts of a conversation superseded (a newer message or a human reply made
    them stale). `before`: only drafts whose trigger message was sent before this time."""
    qs = Draft.objects.filter(conversation_id=conversation_id, status__in=[S.PENDING, S.SCHEDULED])
    if before is not None:
        qs = qs.filter(trigger_message__sent_at__lt=before)
    return qs.update(status=S.SUPERSEDED, updated_at=timezone.now())
