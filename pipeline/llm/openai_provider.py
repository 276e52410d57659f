"""The `openai` provider: the official SDK against OpenAI or any OpenAI-compatible server
(`OPENAI_BASE_URL`: vLLM, llama.cpp, Ollama).

Structured output comes in one of two modes (`LLM_STRUCTURED_OUTPUT`): `json_schema` uses
`chat.completions.parse` with the stage's pydantic model as `response_format`; `json_object`
asks for `{"type": "json_object"}` and puts the JSON schema in the system prompt, for servers
that take no schema. Either way the reply is validated by the same pydantic model.

The SDK's own retries are off (`max_retries=0`): the gateway retries, so that every attempt,
including a rate-limited one, is one AIInteraction row with its outcome.
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

import openai
import pydantic
from openai import OpenAI
from pydantic import BaseModel

from pipeline.llm.errors import (
    LLMError,
    LLMMalformedOutput,
    LLMPermanentError,
    LLMTransientError,
)
from pipeline.llm.provider import ProviderReply
from pipeline.prompts import RenderedPrompt


@cache
def _client(api_key: str, base_url: str | None, timeout: float) -> OpenAI:
    return OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


@cache
def _schema_instructions(schema: type[BaseModel]) -> str:
    return (
        "\n\nReply with one JSON object and nothing else. It must match this JSON schema:\n"
        + json.dumps(schema.model_json_schema(), separators=(",", ":"))
    )


def _retry_after(headers: Any) -> float | None:
    """Seconds the server asks us to wait (`retry-after-ms` or `retry-after`)."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header) if headers is not None else None
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            continue
    return None


def _usage_numbers(usage: Any) -> dict[str, int]:
    """Token counts from a response's `usage` object (a dict from the raw body)."""
    if not isinstance(usage, dict):
        return {}
    completion_details = usage.get("completion_tokens_details") or {}
    prompt_details = usage.get("prompt_tokens_details") or {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "reasoning_tokens": int(completion_details.get("reasoning_tokens") or 0),
        "cached_tokens": int(prompt_details.get("cached_tokens") or 0),
    }


def _error_from_status(exc: openai.APIStatusError) -> LLMError:
    status = exc.status_code
    request_id = exc.request_id or ""
    if status == 429:
        return LLMTransientError(
            "rate_limited",
            "HTTP 429",
            retry_after=_retry_after(exc.response.headers),
            request_id=request_id,
        )
    if status >= 500:
        return LLMTransientError(
            "server_error",
            f"HTTP {status}",
            retry_after=_retry_after(exc.response.headers),
            request_id=request_id,
        )
    if status == 408:
        return LLMTransientError("timeout", "HTTP 408", request_id=request_id)
    if status == 409:
        return LLMTransientError("error", "HTTP 409", request_id=request_id)
    return LLMPermanentError("error", f"HTTP {status}", request_id=request_id)


class OpenAIProvider:
    name = "openai"
    shared_limits = True

    def __init__(self, *, api_key: str, base_url: str | None, timeout: float, mode: str) -> None:
        self.client = _client(api_key, base_url, timeout)
        self.mode = mode

    def call(
        self,
        *,
        stage: str,
        prompt: RenderedPrompt,
        schema: type[BaseModel],
        model: str,
        reasoning_effort: str | None,
    ) -> ProviderReply:
        system = prompt.system
        if self.mode == "json_object":
            system += _schema_instructions(schema)
        messages: list[Any] = [
            {"role": "system", "content": system},
            {"role": "user", "content": prompt.user},
        ]
        options: dict[str, Any] = {}
        if reasoning_effort:
            options["reasoning_effort"] = reasoning_effort
        started = time.perf_counter()
        try:
            if self.mode == "json_object":
                raw: Any = self.client.chat.completions.with_raw_response.create(
                    model=model,
                    messages=messages,
                    response_format={"type": "json_object"},
                    **options,
                )
            else:
                raw = self.client.chat.completions.with_raw_response.parse(
                    model=model, messages=messages, response_format=schema, **options
                )
        except openai.APITimeoutError:
            raise LLMTransientError("timeout", "request timed out") from None
        except openai.APIStatusError as exc:
            raise _error_from_status(exc) from None
        except openai.APIConnectionError:
            raise LLMTransientError("error", "connection failed") from None
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = raw.request_id or ""
        try:
            body = raw.http_response.json()
        except ValueError:
            body = None
        numbers = _usage_numbers(body.get("usage") if isinstance(body, dict) else None)
        facts: dict[str, Any] = {**numbers, "request_id": request_id}
        try:
            completion = raw.parse()
        except openai.LengthFinishReasonError:
            raise LLMPermanentError("truncated", "finish_reason=length", **facts) from None
        except openai.ContentFilterFinishReasonError:
            raise LLMPermanentError("refusal", "content filter", **facts) from None
        except (pydantic.ValidationError, ValueError, openai.APIResponseValidationError):
            raise LLMMalformedOutput(
                "malformed", "reply does not match the schema", **facts
            ) from None
        if not completion.choices:
            raise LLMMalformedOutput("malformed", "no choices", **facts)
        choice = completion.choices[0]
        message = choice.message
        if getattr(message, "refusal", None):
            raise LLMPermanentError("refusal", "the model refused", **facts)
        if choice.finish_reason == "length":
            raise LLMPermanentError("truncated", "finish_reason=length", **facts)
        if choice.finish_reason == "content_filter":
            raise LLMPermanentError("refusal", "content filter", **facts)
        parsed = getattr(message, "parsed", None) if self.mode == "json_schema" else None
        if parsed is None:
            try:
                parsed = schema.model_validate_json(message.content or "")
            except pydantic.ValidationError:
                raise LLMMalformedOutput(
                    "malformed", "reply does not match the schema", **facts
                ) from None
        return ProviderReply(
            parsed=parsed,
            model=str(getattr(completion, "model", "") or model),
            latency_ms=latency_ms,
            **facts,
        )
