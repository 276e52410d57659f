"""After a reject, the operator writes the reply themselves, so a lead is never left
unanswered by accident. It goes out the way an edited approval does (the undo window, one
send per draft, a diff and a learning sample against the AI's text): the draft moves
rejected → pending → scheduled inside one transaction, so nobody ever sees it pending."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from drafts.draft_states import draft_transition
from drafts.models import Draft, Message
from drafts.review import Approval, draft_approve
from workspaces.errors import Conflict

S = Draft.Status


def newer_inbound_since(draft: Draft) -> Message | None:
    """The lead's first message after this draft's, if any: answering the older one by hand
    would talk past it (the newer message has its own draft)."""
    return (
        _after_trigger(draft)
        .filter(direction=Message.Direction.INBOUND)
        .select_related("reply_draft")
        .order_by("sent_at", "id")
        .first()
    )


def _after_trigger(draft: Draft) -> QuerySet[Message]:
    return Message.objects.filter(
        conversation_id=draft.conversation_id, sent_at__gt=draft.trigger_message.sent_at
    ).exclude(pk=draft.trigger_message_id)


def replied_since(draft: Draft) -> bool:
    """Someone already answered after this draft's message (from another tool, or another
    draft's reply): a second answer would double up."""
    return _after_trigger(draft).filter(direction=Message.Direction.OUTBOUND).exists()


def draft_reply_handwritten(*, draft: Draft, user: Any, text: str | None) -> Approval:
    """Send `text`, written by the operator, as the reply to a rejected draft's message. A
    draft that is not rejected, whose lead wrote again since, or that someone already
    answered, is a 409 and nothing changes; an empty reply is a 400 (from `draft_approve`)."""
    with transaction.atomic():
        locked = (
            Draft.objects.select_for_update(of=("self",))
            .select_related("trigger_message", "conversation")
            .get(pk=draft.pk)
        )
        if locked.status != S.REJECTED:
            raise Conflict(
                "Only a rejected draft can be answered by hand: this one is "
                f"{S(locked.status).label.lower()}.",
                details={"status": locked.status},
            )
        if newer_inbound_since(locked) is not None:
            raise Conflict(
                "The lead wrote again since: answer the newer message from its own draft.",
                details={"status": locked.status},
            )
        if replied_since(locked):
            raise Conflict(
                "Someone already replied to this message: nothing was sent.",
                details={"status": locked.status},
            )
        if not draft_transition(draft_id=locked.pk, from_status=S.REJECTED, to_status=S.PENDING):
            raise Conflict("This draft changed while you wrote.", details={"status": locked.status})
        locked.status = S.PENDING
        # `draft_approve` raises on an empty reply or a lost race; the atomic block then
        # rolls the draft back to rejected.
        return draft_approve(draft=locked, user=user, text=text or "")
