"""The one seam where the pipeline hands work to auto-send, which stands above it.

The pipeline owns the order of things (the gate before any LLM call, the draft's first
auto-send fields in the completing transaction, sends called off when older drafts are
superseded, then the auto-send decision right after the run completes, in the same task);
auto-send owns what each step decides. This module names those steps as a Protocol, and
autosend plugs its implementation in from `AutosendConfig.ready` (`autosend_port_register`).
So the pipeline imports nothing of auto-send, and `lint-imports` keeps it that way.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from drafts.models import Draft, Message
from pipeline.models import PipelineRun
from workspaces.models import WorkspaceSettings


class Gate(Protocol):
    """The hard-block gate's outcome on a message, as the pipeline reads it."""

    @property
    def blocked(self) -> bool: ...
    @property
    def category(self) -> str: ...
    @property
    def no_reply(self) -> bool: ...


class Precheck(Protocol):
    """What a draft is created with, before any auto-send LLM call."""

    @property
    def action(self) -> str: ...
    @property
    def blocked_reason(self) -> str: ...
    @property
    def held_reason(self) -> str: ...
    @property
    def evaluate(self) -> bool: ...


class AutoSendPort(Protocol):
    def gate_check_message(self, *, message: Message) -> dict[str, Any]:
        """The gate's outcome on an inbound message, as the record the run keeps."""
        ...

    def gate_from_record(self, record: Any) -> Gate | None:
        """The outcome back from a run's record (None: no record)."""
        ...

    def precheck(self, *, gate: Gate, ws_settings: WorkspaceSettings, held_reason: str) -> Precheck:
        """The draft's auto-send fields, decided before any LLM call."""
        ...

    def sends_cancel_for_conversation(self, *, conversation_id: Any, reason: str) -> int:
        """Call off sends still waiting in a conversation (older drafts were superseded)."""
        ...

    def draft_ready(
        self, *, run: PipelineRun, draft: Draft, ws_settings: WorkspaceSettings, gate: Gate
    ) -> None:
        """The run completed with a pending draft: evaluate, maybe revise, send or review.
        Fails closed (LLM trouble sends the draft to review)."""
        ...


_port: AutoSendPort | None = None


def autosend_port_register(port: AutoSendPort) -> None:
    """Called once, from autosend's AppConfig.ready."""
    global _port
    _port = port


def autosend_port() -> AutoSendPort:
    if _port is None:
        raise ImproperlyConfigured("autosend is not installed: nothing decides auto-send")
    return _port
