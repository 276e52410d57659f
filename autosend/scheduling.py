"""Booking a send: the deterministic delay and the one ScheduledSend row per draft."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from autosend.models import ScheduledSend
from drafts.draft_states import draft_transition
from drafts.models import Draft


def chosen_delay_seconds(message_id: Any, min_seconds: int, max_seconds: int) -> int:
    """A human-like delay in [min, max], the same for a message in every process and Python
    version: SHA-256 of the message id, not Python's salted hash()."""
    if max_seconds < min_seconds:
        raise ValueError("max_seconds must be >= min_seconds")
    span = max_seconds - min_seconds + 1
    digest = hashlib.sha256(str(message_id).encode("utf-8")).digest()
    return min_seconds + int.from_bytes(digest[:8], "big") % span


def scheduled_send_create(
    *,
    draft: Draft,
    origin: str,
    run_at: datetime,
    text: str,
    chosen_delay: int = 0,
    delay_min: int = 0,
    delay_max: int = 0,
) -> ScheduledSend | None:
    """Book the draft's one send and move it pending → scheduled. None if the draft already
    has a send or is no longer pending (a double click, a retry): nothing is booked twice."""
    try:
        with transaction.atomic():
            if not draft_transition(
                draft_id=draft.pk,
                from_status=Draft.Status.PENDING,
                to_status=Draft.Status.SCHEDULED,
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
            )
    except IntegrityError:
        return None


def due_at(inbound_sent_at: datetime, delay_seconds: int) -> datetime:
    return inbound_sent_at + timedelta(seconds=delay_seconds)
