"""The offline provider: deterministic, rule- and knowledge-based implementations of every
stage, so the product runs and is testable with no network. It reads the structured
`inputs` of a prompt (the same data the prompt text is rendered from), answers in the
stage's schema, and reports token counts estimated from the prompt and reply text."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from pipeline.llm.catalogue import OFFLINE_MODEL
from pipeline.llm.offline import drafting, review
from pipeline.llm.provider import ProviderReply
from pipeline.llm.tokens import estimate_tokens
from pipeline.models import Stage
from pipeline.prompts import RenderedPrompt

STAGE_RULES: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    Stage.STRATEGY: drafting.strategy,
    Stage.GENERATION: drafting.generation,
    Stage.VERIFIER: drafting.verifier,
    Stage.MEETING_EXTRACT: drafting.meeting_extract,
    Stage.MEETING_GATE: drafting.meeting_gate,
    Stage.EVALUATION: review.evaluation,
    Stage.REVISION_SELECTOR: review.selector,
    Stage.REVISION_REVISER: review.reviser,
}


class OfflineProvider:
    name = "offline"
    shared_limits = False  # in-process rules and knowledge: no server to protect
    resolves_models = False

    def call(
        self,
        *,
        stage: str,
        prompt: RenderedPrompt,
        schema: type[BaseModel],
        model: str,
        reasoning_effort: str | None,
    ) -> ProviderReply:
        started = time.perf_counter()
        rules = STAGE_RULES[stage]
        parsed = schema.model_validate(rules(prompt.inputs))
        reply_json = parsed.model_dump_json()
        return ProviderReply(
            parsed=parsed,
            input_tokens=estimate_tokens(prompt.system) + estimate_tokens(prompt.user),
            output_tokens=estimate_tokens(reply_json),
            model=OFFLINE_MODEL,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
