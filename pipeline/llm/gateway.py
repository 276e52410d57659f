"""The one way the pipeline talks to a language model.

`complete()` picks the provider from `LLM_PROVIDER`, coerces the model to a known one and
passes reasoning effort only to models that take it, retries transient failures and
malformed replies a bounded number of times (`LLM_MAX_RETRIES`) with backoff, and records
every attempt as one `AIInteraction` row: numbers and flags, never prompt or reply text.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import TypeVar, cast

from django.conf import settings
from pydantic import BaseModel

from config.db import db_connections_release
from pipeline.llm.catalogue import model_coerce, reasoning_effort_for
from pipeline.llm.errors import THROTTLED, LLMError, LLMMalformedOutput, LLMPermanentError
from pipeline.llm.limits import llm_cooldown, llm_slot
from pipeline.llm.offline import OfflineProvider
from pipeline.llm.provider import Provider, ProviderReply
from pipeline.llm.usage import CallContext, Usage
from pipeline.models import AIInteraction
from pipeline.prompts import RenderedPrompt

logger = logging.getLogger("pipeline.llm")

T = TypeVar("T", bound=BaseModel)

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0
_OFFLINE = OfflineProvider()


def provider_current() -> Provider:
    """The provider `LLM_PROVIDER` names (read per call, so settings overrides apply)."""
    if settings.LLM_PROVIDER == "openai":
        from pipeline.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            timeout=float(settings.LLM_TIMEOUT_SECONDS),
            mode=settings.LLM_STRUCTURED_OUTPUT,
        )
    return _OFFLINE


def _backoff_seconds(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, BACKOFF_MAX_SECONDS)
    return min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)


def _record(
    context: CallContext,
    *,
    stage: str,
    provider: str,
    model: str,
    prompt: RenderedPrompt,
    outcome: str,
    attempt: int,
    latency_ms: float,
    source: ProviderReply | LLMError,
) -> None:
    row = AIInteraction(
        workspace_id=context.workspace_id,
        run_id=context.run_id,
        stage=stage,
        iteration=context.iteration,
        provider=provider,
        model=model[:80],
        prompt_key=prompt.key,
        prompt_version=prompt.version,
        outcome=outcome,
        attempt=attempt,
        input_tokens=source.input_tokens,
        output_tokens=source.output_tokens,
        reasoning_tokens=source.reasoning_tokens,
        cached_tokens=source.cached_tokens,
        latency_ms=round(latency_ms),
        request_id=source.request_id[:120],
    )
    if isinstance(source, LLMError):
        row.status_code = source.status_code
        row.server_message = source.server_message
    if context.sink is not None:
        context.sink.append(row)
    else:
        row.save(force_insert=True)


def complete[T: BaseModel](
    *,
    stage: str,
    prompt: RenderedPrompt,
    schema: type[T],
    model: str | None,
    reasoning_effort: str | None = None,
    context: CallContext,
) -> tuple[T, Usage]:
    """One stage's answer, parsed into `schema`, and what it cost.

    Raises `LLMTransientError` when the provider kept failing transiently (the caller may
    try again later) and `LLMPermanentError` for refusals, truncation, a reply that never
    matched the schema, or a rejected request.
    """
    provider = provider_current()
    if provider.resolves_models and model:
        # A self-hosted server's own model list decides (`capabilities.model_resolve`, in the
        # provider, after the probe): a name chosen from that list is in no hosted catalogue.
        chosen_model, effort = model, reasoning_effort
    else:
        chosen_model = model_coerce(model)
        effort = reasoning_effort_for(chosen_model, reasoning_effort)
    max_attempts = 1 + int(settings.LLM_MAX_RETRIES)
    totals = {"input": 0, "output": 0, "reasoning": 0, "cached": 0}
    started = time.perf_counter()
    for attempt in range(1, max_attempts + 1):
        db_connections_release()  # nothing holds a database connection while a model thinks
        attempt_started = time.perf_counter()
        try:
            with llm_slot(context.workspace_id) if provider.shared_limits else nullcontext():
                reply = provider.call(
                    stage=stage,
                    prompt=prompt,
                    schema=schema,
                    model=chosen_model,
                    reasoning_effort=effort,
                )
        except LLMError as exc:
            if exc.outcome == THROTTLED:
                raise  # no call was made: nothing to record, the run waits for a slot
            if exc.outcome == AIInteraction.Outcome.RATE_LIMITED:
                llm_cooldown(exc.retry_after or _backoff_seconds(attempt, None))
            latency = (time.perf_counter() - attempt_started) * 1000
            _record(
                context,
                stage=stage,
                provider=provider.name,
                model=exc.model or chosen_model,
                prompt=prompt,
                outcome=exc.outcome,
                attempt=attempt,
                latency_ms=latency,
                source=exc,
            )
            totals["input"] += exc.input_tokens
            totals["output"] += exc.output_tokens
            logger.warning(
                "llm call failed",
                extra={
                    "stage": stage,
                    "run_id": str(context.run_id or ""),
                    "outcome": exc.outcome,
                    "status": exc.status_code,
                    "attempt": attempt,
                    "latency_ms": round(latency),
                },
            )
            retryable = exc.transient or isinstance(exc, LLMMalformedOutput)
            if retryable and attempt < max_attempts:
                db_connections_release()
                time.sleep(_backoff_seconds(attempt, exc.retry_after))
                continue
            if isinstance(exc, LLMMalformedOutput):
                raise LLMPermanentError(
                    exc.outcome, exc.detail, request_id=exc.request_id, model=exc.model
                ) from exc
            raise
        logger.debug(
            "llm call",
            extra={"stage": stage, "outcome": "ok", "attempt": attempt, "model": reply.model},
        )
        _record(
            context,
            stage=stage,
            provider=provider.name,
            model=reply.model,
            prompt=prompt,
            outcome=AIInteraction.Outcome.OK,
            attempt=attempt,
            latency_ms=reply.latency_ms,
            source=reply,
        )
        usage = Usage(
            input_tokens=totals["input"] + reply.input_tokens,
            output_tokens=totals["output"] + reply.output_tokens,
            reasoning_tokens=reply.reasoning_tokens,
            cached_tokens=reply.cached_tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
            request_id=reply.request_id,
            model=reply.model,
            provider=provider.name,
            attempts=attempt,
        )
        return cast(T, reply.parsed), usage
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
