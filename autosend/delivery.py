"""Delivery of scheduled sends. The database row is the truth; the broker never holds a delay.

A send goes out at most once: a worker claims its row with a compare-and-swap
(scheduled → sending), re-checks that the reply still makes sense, hands it to the channel's
transport, and records the outbound message and `sent` in one transaction once the transport
has answered. A worker that dies in between leaves the row in `sending`; the sweep marks it
`unknown` for an operator, and nothing retries it automatically.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from autosend.kill_switches import auto_send_disabled
from autosend.models import ScheduledSend
from autosend.send_states import scheduled_send_transition
from autosend.transports import (
    NotSent,
    OutboundPayload,
    TransportResult,
    transport_send,
)
from drafts.draft_states import draft_transition, drafts_supersede_in_conversation
from drafts.models import Conversation, Draft, Message, Notification
from drafts.notifications import notification_create

logger = logging.getLogger(__name__)

S = ScheduledSend.Status
D = Draft.Status


class Outcome(StrEnum):
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_CLAIMED = "not_claimed"


@dataclass
class DeliveryReport:
    stuck: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def scheduled_sends_cancel_for_conversation(
    *, conversation_id: Any, reason: str, exclude_draft_id: Any = None
) -> int:
    """Cancel every send still waiting in a conversation (a human replied, a newer message
    arrived). Rows already `sending` are left alone: their outcome is the transport's."""
    qs = ScheduledSend.objects.filter(conversation_id=conversation_id, status=S.SCHEDULED)
    if exclude_draft_id is not None:
        qs = qs.exclude(draft_id=exclude_draft_id)
    return qs.update(status=S.CANCELLED, cancel_reason=reason[:80], finished_at=timezone.now())


@dataclass(frozen=True)
class HumanReply:
    sends_cancelled: int
    drafts_superseded: int


def human_reply_record(
    *, conversation_id: Any, sent_at: datetime, exclude_draft_id: Any = None
) -> HumanReply:
    """A human answered in a conversation (from another tool, or an operator in Replydesk):
    sends still waiting are cancelled and drafts for earlier messages superseded, so the AI
    never talks over a person. Call it in the transaction that stores the human's message.
    Response timing needs nothing here: its processor finds the outbound message itself."""
    return HumanReply(
        sends_cancelled=scheduled_sends_cancel_for_conversation(
            conversation_id=conversation_id,
            reason="human_replied",
            exclude_draft_id=exclude_draft_id,
        ),
        drafts_superseded=drafts_supersede_in_conversation(
            conversation_id=conversation_id, before=sent_at
        ),
    )


# --- The one path every send takes ----------------------------------------------------------


def scheduled_send_deliver(*, scheduled_send_id: Any, now: datetime | None = None) -> str:
    """Claim one due send and deliver it, or call it off. Safe to call any number of times
    from any number of workers: only the claim's winner does anything."""
    now = now or timezone.now()
    claimed = scheduled_send_transition(
        scheduled_send_id=scheduled_send_id,
        from_status=S.SCHEDULED,
        to_status=S.SENDING,
        where=Q(run_at__lte=now),
        started_at=now,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return Outcome.NOT_CLAIMED
    try:
        send = ScheduledSend.objects.select_related(
            "draft__trigger_message",
            "conversation__channel",
            "conversation__lead",
            "workspace__settings",
            "approved_by",
        ).get(pk=scheduled_send_id)
        call_off = _reason_to_call_off(send=send, now=now)
        if call_off is not None:
            reason, draft_to = call_off
            _cancel(send=send, reason=reason, draft_to=draft_to)
            return Outcome.CANCELLED
        payload = outbound_payload(send=send)
    except Exception as exc:
        # Nothing has reached a transport yet, so this is a plain failure, not `unknown`.
        logger.error(
            "autosend: error before sending",
            extra={"scheduled_send_id": str(scheduled_send_id), "error": type(exc).__name__},
        )
        _fail(
            send=ScheduledSend.objects.get(pk=scheduled_send_id),
            error=f"internal error before sending ({type(exc).__name__})",
        )
        return Outcome.FAILED

    try:
        result = transport_send(
            channel=send.conversation.channel,
            payload=payload,
            idempotency_key=str(send.draft_id),
        )
    except NotSent as exc:
        _fail(send=send, error=str(exc))
        return Outcome.FAILED
    except Exception as exc:
        # OutcomeUnknown, a time limit, a bug: the receiver may have it. Never resend.
        _mark_unknown(send=send, error=str(exc) if exc.args else type(exc).__name__)
        return Outcome.UNKNOWN
    _record_sent(send=send, result=result)
    return Outcome.SENT


def _reason_to_call_off(*, send: ScheduledSend, now: datetime) -> tuple[str, str | None] | None:
    """Why this send must not go out now, and where its draft goes (None: leave it)."""
    draft = send.draft
    if draft.status != D.SCHEDULED:
        return f"draft_{draft.status}", None
    if now - send.run_at > settings.AUTO_SEND_STALE_AFTER:
        return "stale", D.PENDING
    if draft.text != send.text:
        return "draft_changed", D.PENDING
    if send.origin == ScheduledSend.Origin.APPROVAL:
        return None  # an operator decided; the automatic switches do not stop humans
    if auto_send_disabled():
        return "kill_switch", D.PENDING
    if not send.workspace.settings.auto_send_enabled:
        return "auto_send_off", D.PENDING
    trigger = draft.trigger_message
    later = Q(sent_at__gt=trigger.sent_at) | Q(received_at__gt=trigger.received_at)
    thread = Message.objects.filter(conversation_id=send.conversation_id).exclude(pk=trigger.pk)
    if thread.filter(later, direction=Message.Direction.INBOUND).exists():
        return "newer_inbound", D.SUPERSEDED
    if thread.filter(later, direction=Message.Direction.OUTBOUND).exists():
        return "human_replied", D.SUPERSEDED
    return None


def outbound_payload(*, send: ScheduledSend) -> OutboundPayload:
    trigger = send.draft.trigger_message
    conversation = send.conversation
    lead = conversation.lead
    earlier = (
        Message.objects.filter(conversation_id=conversation.pk, sent_at__lte=trigger.sent_at)
        .exclude(pk=trigger.pk)
        .order_by("-sent_at")
        .values_list("direction", "external_id", "transport_message_id")[:9]
    )
    references = [
        tid if direction == Message.Direction.OUTBOUND and tid.startswith("<") else ext
        for direction, ext, tid in reversed(earlier)
    ]
    return OutboundPayload(
        text=send.text,
        subject=conversation.subject or trigger.subject,
        to_email=lead.email,
        to_phone=lead.phone,
        lead_external_id=lead.external_id,
        lead_name=lead.name,
        thread_external_id=conversation.external_id,
        in_reply_to=trigger.external_id,
        references=tuple(references),
        outbound_external_id=outbound_external_id(send.draft_id),
    )


def outbound_external_id(draft_id: Any) -> str:
    return f"replydesk:{draft_id}"


def _cancel(*, send: ScheduledSend, reason: str, draft_to: str | None) -> None:
    with transaction.atomic():
        if not scheduled_send_transition(
            scheduled_send_id=send.pk,
            from_status=S.SENDING,
            to_status=S.CANCELLED,
            cancel_reason=reason,
            finished_at=timezone.now(),
        ):
            return
        if draft_to is not None:
            draft_transition(draft_id=send.draft_id, from_status=D.SCHEDULED, to_status=draft_to)
    logger.info(
        "autosend: send cancelled",
        extra={"scheduled_send_id": str(send.pk), "draft_id": str(send.draft_id), "reason": reason},
    )


def _fail(*, send: ScheduledSend, error: str) -> None:
    """Nothing left: the row is `failed` and the draft goes back to review, where an operator
    can approve it again. Never retried automatically."""
    with transaction.atomic():
        if not scheduled_send_transition(
            scheduled_send_id=send.pk,
            from_status=S.SENDING,
            to_status=S.FAILED,
            last_error=error[:2000],
            finished_at=timezone.now(),
        ):
            return
        draft_transition(draft_id=send.draft_id, from_status=D.SCHEDULED, to_status=D.PENDING)
        _notify(send=send, kind=Notification.Kind.SEND_FAILED, title="A reply could not be sent")
    logger.warning(
        "autosend: send failed",
        extra={"scheduled_send_id": str(send.pk), "draft_id": str(send.draft_id)},
    )


def _mark_unknown(*, send: ScheduledSend, error: str) -> None:
    with transaction.atomic():
        if not scheduled_send_transition(
            scheduled_send_id=send.pk,
            from_status=S.SENDING,
            to_status=S.UNKNOWN,
            last_error=error[:2000],
            finished_at=timezone.now(),
        ):
            return
        _notify(
            send=send,
            kind=Notification.Kind.SEND_UNKNOWN,
            title="A reply may or may not have been delivered: check before resending",
        )
    logger.error(
        "autosend: send outcome unknown",
        extra={"scheduled_send_id": str(send.pk), "draft_id": str(send.draft_id)},
    )


def _record_sent(*, send: ScheduledSend, result: TransportResult) -> None:
    """The transport took the message: the outbound Message, `sent` and the draft's `sent`,
    together. A row the sweep already called `unknown` is corrected: now we know."""
    now = timezone.now()
    with transaction.atomic():
        if not scheduled_send_transition(
            scheduled_send_id=send.pk,
            from_status=(S.SENDING, S.UNKNOWN),
            to_status=S.SENT,
            finished_at=now,
            transport_message_id=result.transport_message_id[:500],
        ):
            logger.error(
                "autosend: sent, but the row had moved on",
                extra={"scheduled_send_id": str(send.pk), "draft_id": str(send.draft_id)},
            )
            return
        _outbound_message_record(send=send, result=result, sent_at=now)
        if not draft_transition(draft_id=send.draft_id, from_status=D.SCHEDULED, to_status=D.SENT):
            logger.warning(
                "autosend: sent a draft that had left `scheduled`",
                extra={"scheduled_send_id": str(send.pk), "draft_id": str(send.draft_id)},
            )
        if send.origin == ScheduledSend.Origin.APPROVAL:
            # An operator's send is a human reply: what was waiting in the thread is stale.
            human_reply_record(
                conversation_id=send.conversation_id, sent_at=now, exclude_draft_id=send.draft_id
            )
    logger.info(
        "autosend: sent",
        extra={"scheduled_send_id": str(send.pk), "draft_id": str(send.draft_id)},
    )


def _outbound_message_record(
    *, send: ScheduledSend, result: TransportResult, sent_at: datetime
) -> Message:
    conversation = send.conversation
    by_human = send.origin == ScheduledSend.Origin.APPROVAL
    message, _ = Message.objects.get_or_create(
        channel_id=conversation.channel_id,
        external_id=outbound_external_id(send.draft_id),
        defaults={
            "workspace_id": send.workspace_id,
            "conversation_id": conversation.pk,
            "lead_id": conversation.lead_id,
            "direction": Message.Direction.OUTBOUND,
            "sender_kind": Message.Sender.USER if by_human else Message.Sender.AI,
            "sender_user": send.approved_by if by_human else None,
            "sender_email": (send.approved_by.email if by_human and send.approved_by else ""),
            "subject": conversation.subject,
            "body_text": send.text,
            "sent_at": sent_at,
            "draft_id": send.draft_id,
            "transport_message_id": result.transport_message_id[:500],
        },
    )
    Conversation.objects.filter(pk=conversation.pk).filter(
        Q(last_message_at__isnull=True) | Q(last_message_at__lt=sent_at)
    ).update(last_message_at=sent_at)
    return message


def _notify(*, send: ScheduledSend, kind: str, title: str) -> None:
    """One notification per draft and kind (a database constraint); shown again if read."""
    notification_create(
        workspace_id=send.workspace_id,
        kind=kind,
        title=title,
        draft_id=send.draft_id,
        resurface=True,
    )


# --- Sweeps ---------------------------------------------------------------------------------


def scheduled_sends_mark_stuck_unknown(
    *, now: datetime | None = None, older_than: timedelta | None = None, limit: int = 100
) -> int:
    """Rows left in `sending` longer than any worker can live (the hard time limit): the
    worker died mid-send. They become `unknown` for an operator; nothing resends them."""
    now = now or timezone.now()
    cutoff = now - (older_than if older_than is not None else settings.AUTO_SEND_SENDING_TIMEOUT)
    stuck = list(
        ScheduledSend.objects.filter(status=S.SENDING, started_at__lt=cutoff)
        .order_by("started_at")
        .select_related("draft")[:limit]
    )
    for send in stuck:
        _mark_unknown(send=send, error="the worker stopped during the send")
    return len(stuck)


def scheduled_sends_deliver_due(
    *, now: datetime | None = None, limit: int | None = None, time_budget: float | None = None
) -> DeliveryReport:
    """The beat's job: sweep crashed sends, then deliver a bounded batch of due rows, one
    claim at a time, stopping early when the time budget is spent (the rest wait 5 s)."""
    report = DeliveryReport(stuck=scheduled_sends_mark_stuck_unknown(now=now))
    limit = limit or settings.AUTO_SEND_DELIVERY_BATCH
    budget = time_budget if time_budget is not None else settings.AUTO_SEND_DELIVERY_BUDGET_SECONDS
    deadline = time.monotonic() + budget
    due = ScheduledSend.objects.filter(status=S.SCHEDULED, run_at__lte=now or timezone.now())
    for send_id in list(due.order_by("run_at").values_list("pk", flat=True)[:limit]):
        if time.monotonic() > deadline:
            break
        # Each claim takes its own clock unless the caller fixed one (tests, backfills).
        report.count(scheduled_send_deliver(scheduled_send_id=send_id, now=now))
    return report


# --- Operators ------------------------------------------------------------------------------


def scheduled_send_reconcile(*, scheduled_send: ScheduledSend, delivered: bool) -> bool:
    """An operator checked the transport for an `unknown` send: it arrived (recorded as sent)
    or it did not (failed; the draft goes back to review)."""
    send = ScheduledSend.objects.select_related("conversation", "approved_by").get(
        pk=scheduled_send.pk
    )
    if send.status != S.UNKNOWN:
        return False
    if delivered:
        with transaction.atomic():
            if not scheduled_send_transition(
                scheduled_send_id=send.pk,
                from_status=S.UNKNOWN,
                to_status=S.SENT,
                finished_at=timezone.now(),
            ):
                return False
            result = TransportResult(transport_message_id=send.transport_message_id)
            _outbound_message_record(send=send, result=result, sent_at=timezone.now())
            draft_transition(draft_id=send.draft_id, from_status=D.SCHEDULED, to_status=D.SENT)
        return True
    with transaction.atomic():
        if not scheduled_send_transition(
            scheduled_send_id=send.pk, from_status=S.UNKNOWN, to_status=S.FAILED
        ):
            return False
        draft_transition(draft_id=send.draft_id, from_status=D.SCHEDULED, to_status=D.PENDING)
    return True
