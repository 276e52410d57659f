"""Booking a send: the deterministic delay and the one ScheduledSend row per draft."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from autosend.models import ScheduledSend
from autosend.send_states import scheduled_send_transition
from autosend.tasks import send_now
from config.tasks import task_publish
from drafts.draft_states import draft_transition
from drafts.models import Draft
from workspaces.models import WorkspaceSettings

S = ScheduledSend.Status

logger = logging.getLogger(__name__)


def chosen_delay_seconds(message_id: Any, min_seconds: int, max_seconds: int) -> int:
    """A human-like delay in [min, max], the same for a message in every process and Python
    version: SHA-256 of the message id, not Python's salted hash(). 64 bits of the digest
    modulo a span of at most a few thousand seconds: the bias is below 1e-15."""
    if min_seconds < 0:
        raise ValueError("min_seconds must not be negative")
    if max_seconds < min_seconds:
        raise ValueError("max_seconds must be >= min_seconds")
    span = max_seconds - min_seconds + 1
    digest = hashlib.sha256(str(message_id).encode("utf-8")).digest()
    return min_seconds + int.from_bytes(digest[:8], "big") % span


def due_at(inbound_sent_at: datetime, delay_seconds: int) -> datetime:
    return inbound_sent_at + timedelta(seconds=delay_seconds)


def scheduled_send_create(
    *,
    draft: Draft,
    origin: str,
    run_at: datetime,
    text: str,
    chosen_delay: int = 0,
    delay_min: int = 0,
    delay_max: int = 0,
    approved_by: User | None = None,
) -> ScheduledSend | None:
    """Book the draft's one send and move it pending → scheduled (its text becomes `text`).
    None if the draft already has a send or is no longer pending (a double click, a retry):
    nothing is booked twice."""
    try:
        with transaction.atomic():
            if not draft_transition(
                draft_id=draft.pk,
                from_status=Draft.Status.PENDING,
                to_status=Draft.Status.SCHEDULED,
                text=text,
            ):
                return None
            return ScheduledSend.objects.create(
                workspace_id=draft.workspace_id,
                draft=draft,
                conversation_id=draft.conversation_id,
                origin=origin,
                text=text,
                run_at=run_at,
                chosen_delay_seconds=chosen_delay,
                delay_min_seconds=delay_min,
                delay_max_seconds=delay_max,
                approved_by=approved_by,
            )
    except IntegrityError:
        return None


def undo_window_seconds(workspace_id: Any) -> int:
    """The workspace's undo window: how long an approved reply waits before it goes out."""
    found = WorkspaceSettings.objects.filter(workspace_id=workspace_id).values_list(
        "undo_seconds", flat=True
    )
    return found.first() or 0


def draft_send_approved(*, draft: Draft, user: User, text: str) -> ScheduledSend | None:
    """An operator approved `draft` with `text`: book its send for now + the workspace's undo
    window. The delivery beat sends it when due, through the same claim as every send, so a
    double click or the beat racing `send_now` still sends once. With no undo window it is
    delivered right away (after commit). Returns None when the draft can no longer be sent
    (rejected, superseded, already sent or being sent, or its outcome is unknown).

    The caller (the review service) authorises the user and records the DraftAction."""
    now = timezone.now()
    undo_seconds = undo_window_seconds(draft.workspace_id)
    run_at = now + timedelta(seconds=undo_seconds)
    approval: dict[str, Any] = {
        "origin": ScheduledSend.Origin.APPROVAL,
        "text": text,
        "run_at": run_at,
        "approved_by": user,
    }
    with transaction.atomic():
        locked = Draft.objects.select_for_update().get(pk=draft.pk)
        existing = ScheduledSend.objects.filter(draft_id=locked.pk).first()
        send: ScheduledSend | None
        if locked.status == Draft.Status.PENDING and existing is None:
            send = scheduled_send_create(
                draft=locked,
                origin=ScheduledSend.Origin.APPROVAL,
                run_at=run_at,
                text=text,
                approved_by=user,
            )
        elif locked.status == Draft.Status.PENDING and existing is not None:
            # Called off earlier (kill switch, stale, failed before sending): book it again.
            rebooked = scheduled_send_transition(
                scheduled_send_id=existing.pk,
                from_status=(S.CANCELLED, S.FAILED),
                to_status=S.SCHEDULED,
                cancel_reason="",
                started_at=None,
                finished_at=None,
                **approval,
            )
            moved = rebooked and draft_transition(
                draft_id=locked.pk,
                from_status=Draft.Status.PENDING,
                to_status=Draft.Status.SCHEDULED,
                text=text,
            )
            send = existing if moved else None
        elif (
            locked.status == Draft.Status.SCHEDULED
            and existing is not None
            and existing.origin == ScheduledSend.Origin.AUTO
        ):
            # An automatic send still waiting for its delay: go now (after the undo window), as
            # approved. (A second
            # approval of an approved draft falls through to None: it was booked once.)
            moved = scheduled_send_transition(
                scheduled_send_id=existing.pk,
                from_status=S.SCHEDULED,
                to_status=S.SCHEDULED,
                **approval,
            )
            if moved:
                Draft.objects.filter(pk=locked.pk, status=Draft.Status.SCHEDULED).update(
                    text=text, updated_at=now
                )
            send = existing if moved else None
        else:
            send = None
        if send is None:
            transaction.set_rollback(True)
            return None
        send_id = str(send.pk)
        if not undo_seconds:
            # A broker outage must not fail the approval: the beat delivers within 5 s.
            transaction.on_commit(lambda: _enqueue_send_now(send_id))
    send.refresh_from_db()
    return send


UNDONE = "undone"


def scheduled_send_undo(*, draft_id: Any) -> bool:
    """Stop a send that has not gone out yet (an approval inside its undo window, or an
    automatic send inside its human-like delay) and put the draft back to review.

    The send's scheduled → cancelled compare-and-swap is the race with the delivery claim
    (scheduled → sending): whichever commits first wins, the other changes nothing, so a
    reply is either sent or undone, never both. True if this call undid it."""
    with transaction.atomic():
        send_id = (
            ScheduledSend.objects.filter(draft_id=draft_id, status=S.SCHEDULED)
            .values_list("pk", flat=True)
            .first()
        )
        if send_id is None:
            return False
        if not scheduled_send_transition(
            scheduled_send_id=send_id,
            from_status=S.SCHEDULED,
            to_status=S.CANCELLED,
            cancel_reason=UNDONE,
            finished_at=timezone.now(),
        ):
            return False
        if not draft_transition(
            draft_id=draft_id, from_status=Draft.Status.SCHEDULED, to_status=Draft.Status.PENDING
        ):
            transaction.set_rollback(True)
            return False
    return True


def _enqueue_send_now(scheduled_send_id: str) -> None:
    task_publish(
        send_now,
        scheduled_send_id,
        log=logger,
        failed="autosend: send_now enqueue failed; the delivery beat will send it",
        scheduled_send_id=scheduled_send_id,
    )
