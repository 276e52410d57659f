"""Auto-send's side of the seams below it: the pipeline's hand-over (pipeline.autosend_port),
each step answered by the gate, the orchestrator and delivery, and drafts' `human_replied`
signal. Both are plugged in once from `AutosendConfig.ready`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autosend.delivery import human_reply_record, scheduled_sends_cancel_for_conversation
from autosend.gate import GateResult
from autosend.orchestrator import (
    Precheck,
    auto_send_precheck,
    draft_auto_send_decide,
    gate_check_message,
    gate_from_record,
)
from drafts.models import Draft, Message
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
