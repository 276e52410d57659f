"""Auto-send's side of the seams below it: the pipeline's hand-over (pipeline.autosend_port),
each step answered by the gate, the orchestrator and delivery; the review service's sends
(drafts.review_ports), answered by scheduling; and drafts' `human_replied` signal. All are
plugged in once from `AutosendConfig.ready`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from autosend.delivery import human_reply_record, scheduled_sends_cancel_for_conversation
from autosend.gate import GateResult
from autosend.models import ScheduledSend
from autosend.orchestrator import (
    Precheck,
    auto_send_precheck,
    draft_auto_send_decide,
    gate_check_message,
    gate_from_record,
)
from autosend.scheduling import draft_send_approved, scheduled_send_undo
from drafts.models import Draft, Message
from drafts.review_ports import SendState
from pipeline.autosend_port import Gate
from pipeline.models import PipelineRun
from workspaces.models import WorkspaceSettings


def _gate_result(gate: Gate) -> GateResult:
    assert isinstance(gate, GateResult), gate  # the pipeline only holds gates we made
    return gate


class AutoSend:
    """The implementation of pipeline.autosend_port.AutoSendPort."""

    def gate_check_message(self, *, message: Message) -> dict[str, Any]:
        return gate_check_message(message=message)

    def gate_from_record(self, record: Any) -> GateResult | None:
        return gate_from_record(record)

    def precheck(self, *, gate: Gate, ws_settings: WorkspaceSettings, held_reason: str) -> Precheck:
        return auto_send_precheck(
            gate=_gate_result(gate), ws_settings=ws_settings, held_reason=held_reason
        )

    def sends_cancel_for_conversation(self, *, conversation_id: Any, reason: str) -> int:
        return scheduled_sends_cancel_for_conversation(
            conversation_id=conversation_id, reason=reason
        )

    def draft_ready(
        self, *, run: PipelineRun, draft: Draft, ws_settings: WorkspaceSettings, gate: Gate
    ) -> None:
        draft_auto_send_decide(
            run=run, draft=draft, ws_settings=ws_settings, gate=_gate_result(gate)
        )


def human_replied_receive(*, conversation_id: Any, sent_at: datetime, **_: Any) -> None:
    """drafts.signals.human_replied: a person answered elsewhere, so the sends still waiting
    are called off and older drafts superseded, in the sender's transaction."""
    human_reply_record(conversation_id=conversation_id, sent_at=sent_at)


GONE_OUT = frozenset({ScheduledSend.Status.SENDING, ScheduledSend.Status.SENT})


class ReviewSends:
    """The implementation of drafts.review_ports.ReviewSends."""

    def approved_send_book(self, *, draft: Draft, user: Any, text: str) -> ScheduledSend | None:
        return draft_send_approved(draft=draft, user=user, text=text)

    def send_undo(self, *, draft_id: Any) -> bool:
        return scheduled_send_undo(draft_id=draft_id)

    def send_call_off(self, *, draft_id: Any, reason: str) -> int:
        return ScheduledSend.objects.filter(
            draft_id=draft_id, status=ScheduledSend.Status.SCHEDULED
        ).update(
            status=ScheduledSend.Status.CANCELLED,
            cancel_reason=reason,
            finished_at=timezone.now(),
        )

    def send_state(self, *, draft_id: Any) -> SendState | None:
        status = (
            ScheduledSend.objects.filter(draft_id=draft_id).values_list("status", flat=True).first()
        )
        return None if status is None else SendState(status=status, gone_out=status in GONE_OUT)
