"""The one way the pipeline talks to a language model.

`complete()` picks the provider from `LLM_PROVIDER`, coerces the model to a known one and
passes reasoning effort only to models that take it, retries transient failures and
malformed replies a bounded number of times (`LLM_MAX_RETRIES`) with backoff, retries 429s
after their Retry-After for up to `LLM_SLOT_WAIT_SECONDS` (pacing is not failing), and records
every attempt as one `AIInteraction` row: numbers and flags, never prompt or reply text.
"""

from __future__ import annotations

import logging
import random
import time
from contextlib import nullcontext
from typing import TypeVar, cast

from django.conf import settings
from pydantic import BaseModel

from config.db import db_connections_release
from pipeline.llm.catalogue import model_coerce, reasoning_effort_for
from pipeline.llm.errors import THROTTLED, LLMError, LLMMalformedOutput, LLMPermanentError
from pipeline.llm.limits import llm_rate_limited, llm_slot
from pipeline.llm.offline import OfflineProvider
from pipeline.llm.openai_provider import OpenAIProvider
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
        return OpenAIProvider(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            timeout=float(settings.LLM_TIMEOUT_SECONDS),
            mode=settings.LLM_STRUCTURED_OUTPUT,
        )
    return _OFFLINE


def _backoff_seconds(attempt: int, retry_after: float | None, *, paced: bool = False) -> float:
    """Retry-After as the provider asked, else exponential; both jittered (up to a fifth
    more) so that the calls one overload refused do not all come back at the same instant.
    Repeated 429s back off exponentially even when their Retry-After is tiny."""
    exponential = min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_MAX_SECONDS)
    if retry_after is None:
        base = exponential
    else:
        base = min(max(retry_after, exponential if paced else 0.0), BACKOFF_MAX_SECONDS)
    return base * random.uniform(1.0, 1.2)


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
    max_failures = 1 + int(settings.LLM_MAX_RETRIES)
    # A 429 is the provider pacing us, not the call failing: it is retried (after its
    # Retry-After) for as long as a call may wait for a slot, and does not use up a retry.
    rate_limited_until = time.monotonic() + float(settings.LLM_SLOT_WAIT_SECONDS)
    totals = {"input": 0, "output": 0, "reasoning": 0, "cached": 0}
    started = time.perf_counter()
    attempt = failures = paced_in_a_row = 0
    while True:
        attempt += 1
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
            paced = exc.outcome == AIInteraction.Outcome.RATE_LIMITED
            if paced:
                llm_rate_limited(exc.retry_after)
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
            paced_in_a_row = paced_in_a_row + 1 if paced else 0
            failures += 0 if paced else 1
            pause = _backoff_seconds(
                paced_in_a_row if paced else failures, exc.retry_after, paced=paced
            )
            retryable = exc.transient or isinstance(exc, LLMMalformedOutput)
            if (paced and time.monotonic() + pause < rate_limited_until) or (
                retryable and not paced and failures < max_failures
            ):
                db_connections_release()
                time.sleep(pause)
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
