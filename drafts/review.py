"""Operator review of drafts: approve (as written or edited), reject, and the reviewer's hold.

Every action is a `DraftAction` row; an edit also keeps a word-level diff and a
`LearningSample`. Sending goes through the same one-send-per-draft booking as auto-send, so a
double click (or two operators at once) books exactly one send. The booking is auto-send's
and the learning sample's stage is the pipeline's: both are reached through
drafts.review_ports, which those apps fill in.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from drafts.draft_states import draft_transition
from drafts.models import Draft, DraftAction, LearningSample, Notification
from drafts.review_ports import BookedSend, review_sends, text_origin
from workspaces.errors import Conflict, DomainError, NotFound

S = Draft.Status
REASON_CODES: tuple[str, ...] = tuple(DraftAction.RejectReason.values)
_TOKEN = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Approval:
    action: DraftAction
    send: BookedSend


def text_normalize(text: str) -> str:
    """Browsers submit textareas with CRLF; a reply is compared and stored with LF only."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_diff(original: str, final: str) -> list[dict[str, Any]]:
    """A word-level diff as JSON: difflib opcodes over word and whitespace tokens. `a`/`b` are
    token ranges in original/final; every span carries its text (`text` when equal, `before`
    and `after` otherwise), so the diff alone shows, and rebuilds, both versions."""
    a, b = _TOKEN.findall(original), _TOKEN.findall(final)
    ops: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        op: dict[str, Any] = {"op": tag, "a": [i1, i2], "b": [j1, j2]}
        if tag == "equal":
            op["text"] = "".join(a[i1:i2])
        else:
            op["before"] = "".join(a[i1:i2])
            op["after"] = "".join(b[j1:j2])
        ops.append(op)
    return ops


def _draft_status_conflict(draft_id: Any) -> Conflict:
    """The 409 for a draft that moved under us, naming where it is now."""
    current = Draft.objects.filter(pk=draft_id).values_list("status", flat=True).first()
    label = S(current).label.lower() if current else "gone"
    booked = review_sends().send_state(draft_id=draft_id)
    details: dict[str, Any] = {"status": current}
    if booked is not None:
        details["send_status"] = booked.status
    return Conflict(f"This draft is no longer waiting for review (it is {label}).", details=details)


def _book_approved_send(*, draft: Draft, user: Any, text: str) -> BookedSend | None:
    # The one place an approval books its send: the same exactly-once delivery path as
    # auto-send, delivered right after commit rather than at the next beat.
    return review_sends().approved_send_book(draft=draft, user=user, text=text)


def _review_done(draft_id: Any) -> None:
    """Acting on a draft releases its hold and settles its 'needs review' notification."""
    Draft.objects.filter(pk=draft_id).update(held_by=None, held_until=None)
    Notification.objects.filter(
        draft_id=draft_id, kind=Notification.Kind.DRAFT_NEEDS_REVIEW, read_at__isnull=True
    ).update(read_at=timezone.now())


def draft_approve(*, draft: Draft, user: Any, text: str | None = None) -> Approval:
    """Approve a draft and send it now. With `text` different from the draft's, the approval
    is an edit: the draft takes the new text, and the diff and a learning sample are kept. An
    automatic send still waiting for its delay is taken over (sent now, as approved). A draft
    already approved, sent, rejected or superseded is a 409 and nothing changes."""
    final_text = draft.text if text is None else text_normalize(text)
    if not final_text.strip():
        raise DomainError(
            "The reply is empty: write a reply or reject the draft.",
            details=[{"field": "text", "message": "Cannot be empty."}],
        )
    edited = final_text != draft.text
    with transaction.atomic():
        send = _book_approved_send(draft=draft, user=user, text=final_text)
        if send is None:  # lost the pending → scheduled swap: someone acted first
            raise _draft_status_conflict(draft.pk)
        diff: list[dict[str, Any]] = []
        if edited:
            diff = text_diff(draft.text, final_text)
            _learning_sample_keep(draft=draft, final_text=final_text, diff=diff)
            Draft.objects.filter(pk=draft.pk).update(text=final_text, updated_at=timezone.now())
        action = DraftAction.objects.create(
            draft_id=draft.pk,
            user=user,
            kind=DraftAction.Kind.EDIT if edited else DraftAction.Kind.APPROVE,
            final_text=final_text,
            diff=diff,
        )
        _review_done(draft.pk)
    return Approval(action=action, send=send)


def _learning_sample_keep(*, draft: Draft, final_text: str, diff: list[dict[str, Any]]) -> None:
    """One sample per draft. A draft approved, undone and edited again keeps the AI's text
    as `original` and takes the newest human text."""
    existing = LearningSample.objects.filter(draft_id=draft.pk).first()
    if existing is not None:
        existing.final = final_text
        existing.diff = text_diff(existing.original, final_text)
        existing.save(update_fields=["final", "diff"])
        return
    stage, prompt_key, prompt_version = text_origin(draft)
    LearningSample.objects.create(
        workspace_id=draft.workspace_id,
        draft_id=draft.pk,
        lead_id=draft.conversation.lead_id,
        channel_id=draft.conversation.channel_id,
        original=draft.text,
        final=final_text,
        diff=diff,
        stage=stage,
        prompt_key=prompt_key,
        prompt_version=prompt_version,
    )


def draft_needs_confirmation(draft: Draft) -> bool:
    """A draft the hard-block gate stopped (legal threat, opt-out, …) is approved only after
    the operator confirms they read why: the pages ask, and bulk approval skips it."""
    return bool(draft.blocked_reason) or draft.auto_send_action == Draft.Action.BLOCK


def draft_approve_check_confirmed(*, draft: Draft, confirmed: bool) -> None:
    if draft_needs_confirmation(draft) and not confirmed:
        raise DomainError(
            "This draft was blocked from sending automatically: confirm you want to send it.",
            details=[{"field": "confirm_blocked", "message": "Confirm to send a blocked draft."}],
        )


def draft_undo(*, draft: Draft, user: Any) -> DraftAction:
    """Stop an approved (or automatic) reply that has not gone out yet and put the draft back
    to review. Exactly once: a second undo, or one after the reply was sent, is a 409."""
    with transaction.atomic():
        sends = review_sends()
        if not sends.send_undo(draft_id=draft.pk):
            current = sends.send_state(draft_id=draft.pk)
            if current is not None and current.gone_out:
                raise Conflict(
                    "Too late to undo: the reply has already gone out.",
                    details={
                        "status": Draft.objects.get(pk=draft.pk).status,
                        "send_status": current.status,
                    },
                )
            raise Conflict(
                "There is nothing to undo: this reply is not waiting to be sent.",
                details={
                    "status": Draft.objects.get(pk=draft.pk).status,
                    "send_status": current.status if current else None,
                },
            )
        return DraftAction.objects.create(draft_id=draft.pk, user=user, kind=DraftAction.Kind.UNDO)


def reject_reason_parse(reason: str | None, note: str = "") -> tuple[str, str]:
    """(reason code, note). Accepts a code (`wrong_facts`), its label ("Wrong facts") or any
    other words, which become `other` with the words kept in the note."""
    raw = (reason or "").strip()
    note = (note or "").strip()
    if not raw:
        raise DomainError(
            "Say why the draft is rejected.",
            details=[{"field": "reason", "message": f"One of: {', '.join(REASON_CODES)}."}],
        )
    code = re.sub(r"[\s-]+", "_", raw.lower())
    if code in REASON_CODES:
        return code, note
    return DraftAction.RejectReason.OTHER, f"{raw}\n{note}".strip() if note else raw


def draft_reject(*, draft: Draft, user: Any, reason: str, note: str = "") -> DraftAction:
    """Reject a pending or scheduled draft and cancel its booked send. A send already being
    delivered (or delivered) cannot be called back: that is a 409 and nothing changes."""
    if reason not in REASON_CODES:
        raise DomainError(
            "Unknown reject reason.",
            details=[{"field": "reason", "message": f"One of: {', '.join(REASON_CODES)}."}],
        )
    with transaction.atomic():
        current = Draft.objects.filter(pk=draft.pk).values_list("status", flat=True).first()
        if current not in (S.PENDING, S.SCHEDULED):
            raise _draft_status_conflict(draft.pk)
        if current == S.SCHEDULED:
            sends = review_sends()
            cancelled = sends.send_call_off(draft_id=draft.pk, reason="rejected by operator")
            if not cancelled and sends.send_state(draft_id=draft.pk) is not None:
                raise _draft_status_conflict(draft.pk)  # delivery claimed it first
        if not draft_transition(draft_id=draft.pk, from_status=current, to_status=S.REJECTED):
            raise _draft_status_conflict(draft.pk)
        action = DraftAction.objects.create(
            draft_id=draft.pk,
            user=user,
            kind=DraftAction.Kind.REJECT,
            reason=reason,
            note=note[:4000],
        )
        _review_done(draft.pk)
    return action


@dataclass(frozen=True)
class Hold:
    user: Any
    until: datetime
    mine: bool


def draft_hold(*, draft: Draft, user: Any) -> Hold | None:
    """Take (or renew) the reviewer's hold on a pending draft: one conditional UPDATE that
    succeeds only if the draft is free, its hold expired, or the hold is already ours. Returns
    whoever holds it now (None when nobody does, e.g. the draft is no longer pending).

    Holds are advisory: another reviewer sees who holds the draft and until when, and may
    still act on it (the page warns them). The send booking, not the hold, is what makes an
    approval happen once; a hard lock would strand drafts whose holder walked away."""
    now = timezone.now()
    until = now + settings.REVIEW_HOLD_DURATION
    taken = (
        Draft.objects.filter(pk=draft.pk, status=S.PENDING)
        .filter(Q(held_by__isnull=True) | Q(held_until__lt=now) | Q(held_by_id=user.pk))
        .update(held_by_id=user.pk, held_until=until)
    )
    if taken:
        draft.held_by_id, draft.held_until = user.pk, until
        return Hold(user=user, until=until, mine=True)
    row = (
        Draft.objects.filter(pk=draft.pk, held_until__gte=now)
        .select_related("held_by")
        .only("held_by", "held_until")
        .first()
    )
    if row is None or row.held_by is None or row.held_until is None:
        return None
    return Hold(user=row.held_by, until=row.held_until, mine=row.held_by_id == user.pk)


def draft_hold_release(*, draft: Draft, user: Any, until: datetime) -> bool:
    """Let go of our hold when the page is left. `until` is the hold that page showed: a
    release arriving after the same reviewer reopened the draft (a reload, another tab)
    finds a newer hold and changes nothing. True if a hold was released."""
    released = Draft.objects.filter(pk=draft.pk, held_by_id=user.pk, held_until=until).update(
        held_by=None, held_until=None
    )
    return released == 1


def draft_hold_of(draft: Draft, user: Any) -> Hold | None:
    """The live hold on a draft loaded with `held_by`, without a query."""
    if draft.held_by_id is None or draft.held_until is None:
        return None
    if draft.held_until < timezone.now():
        return None
    return Hold(user=draft.held_by, until=draft.held_until, mine=draft.held_by_id == user.pk)


# --- The notification feed (read side; `drafts.notifications.notification_create` writes) --


def notification_mark_read(*, workspace: Any, user: Any, notification_id: Any) -> Notification:
    """Mark one notification read. The feed is the team's: a workspace-wide notification read
    by one operator is read for all; another person's (or workspace's) is a 404."""
    found = Notification.objects.filter(
        Q(user__isnull=True) | Q(user_id=user.pk), workspace=workspace, pk=notification_id
    )
    found.filter(read_at__isnull=True).update(read_at=timezone.now())
    notification = found.first()
    if notification is None:
        raise NotFound("Not found.")
    return notification


def notifications_mark_all_read(*, workspace: Any, user: Any) -> int:
    return Notification.objects.filter(
        Q(user__isnull=True) | Q(user_id=user.pk), workspace=workspace, read_at__isnull=True
    ).update(read_at=timezone.now())
