"""What one gateway call cost and who answered it, and the context it is recorded in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    latency_ms: float
    request_id: str
    model: str
    provider: str
    attempts: int


@dataclass
class CallContext:
    """Where a call's telemetry goes. With a `sink`, the AIInteraction rows are collected so
    the caller writes them in the same transaction as its artifacts (one INSERT for a whole
    stage group); without one they are written at once."""

    workspace_id: Any
    run_id: Any = None
    iteration: int = 0
    sink: list[Any] | None = field(default=None)
