"""What a provider gives back from one successful attempt, and the interface it offers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from pipeline.prompts import RenderedPrompt


@dataclass(frozen=True)
class ProviderReply:
    parsed: BaseModel
    model: str
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    request_id: str = ""


class Provider(Protocol):
    name: str
    # Whether calls go to a real server whose limits every worker shares (pipeline.llm.limits).
    shared_limits: bool
    # Whether the provider resolves model names itself, against the server's own list (a
    # self-hosted server's `/v1/models`, capabilities.model_resolve): then the gateway passes
    # a workspace's choice and effort through instead of coercing them to the catalogue.
    resolves_models: bool

    def call(
        self,
        *,
        stage: str,
        prompt: RenderedPrompt,
        schema: type[BaseModel],
        model: str,
        reasoning_effort: str | None,
    ) -> ProviderReply:
        """One attempt. Raises an `LLMError` subclass, carrying whatever usage is known."""
        ...
