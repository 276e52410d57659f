"""The `openai` provider: the official SDK against OpenAI or any OpenAI-compatible server
(`OPENAI_BASE_URL`: vLLM, llama.cpp, Ollama).

The server's capabilities are probed once per base URL (`server_probe.py`) and every call
adapts to them (`capabilities.py`): the model sent is one the server offers, the structured
output mode is the strongest it enforces (strict `json_schema`, llama.cpp's `json_object`
with a `schema`, plain `json_object`, or the schema in the prompt only), instructions
move into the user message where the system role is dropped,
`reasoning_effort` goes only where it means something and `max_tokens` is always sent.
`LLM_STRUCTURED_OUTPUT` other than `auto` forces a mode. Whatever the mode, the reply is
validated by the stage's pydantic model.

Errors: a request the server refused (HTTP 400/404/413/422, or a 5xx whose text says a
parameter is unsupported) is `rejected`, permanent, with the server's own words; other 5xx,
429, timeouts and connection trouble are transient.

Each call borrows an SDK client of its own (`OpenAIClients`: one connection each) and
sends through its `post()` a body built here (`openai_wire.py`): the resource methods'
per-call parameter transforms cost more CPU than the rest of a pipeline. The SDK's own
retries are off (`max_retries=0`): the gateway retries, so that every attempt, including a
rate-limited one, is one AIInteraction row with its outcome.
"""

from __future__ import annotations

import re
import ssl
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpx2
import openai
import pydantic
from openai import DefaultHttpxClient, OpenAI
from pydantic import BaseModel

from pipeline.llm.capabilities import (
    JSON_SCHEMA,
    effort_resolve,
    json_text,
    messages_build,
    model_resolve,
    response_format_for,
    token_options,
)
from pipeline.llm.errors import (
    REJECTED,
    LLMError,
    LLMMalformedOutput,
    LLMPermanentError,
    LLMTransientError,
)
from pipeline.llm.openai_wire import chat_completion_post, json_schema_response_format
from pipeline.llm.provider import ProviderReply
from pipeline.llm.server_probe import hosted_openai, server_capabilities
from pipeline.prompts import RenderedPrompt


class OpenAIClients:
    """SDK clients for one (key, server, timeout), each lent to one call at a time.

    One client shared by a few hundred threads costs CPU in proportion to the calls in
    flight: its connection pool walks every connection, under one lock, on each request and
    again on each response, and keeps at most 100 idle, so the rest reconnect. A stack of
    clients with one connection each makes a call's pool work constant; the most recently
    returned client is lent first, so its connection is the one still alive. They share one
    SSL context (building one reads the CA bundle)."""

    def __init__(self, *, api_key: str, base_url: str | None, timeout: float) -> None:
        self.api_key, self.base_url, self.timeout = api_key, base_url, timeout
        self._idle: deque[OpenAI] = deque()
        self._ssl: ssl.SSLContext | None = None

    def _new(self) -> OpenAI:
        if self._ssl is None:
            self._ssl = httpx2.create_ssl_context()
        http = DefaultHttpxClient(
            verify=self._ssl,
            timeout=self.timeout,
            limits=httpx2.Limits(max_connections=None, max_keepalive_connections=1),
        )
        return OpenAI(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=0,
            http_client=http,
        )

    @contextmanager
    def borrow(self) -> Iterator[OpenAI]:
        """A client no other call is using (deque pops and appends need no lock)."""
        try:
            client = self._idle.pop()
        except IndexError:
            client = self._new()
        try:
            yield client
        finally:
            self._idle.append(client)

    @property
    def idle(self) -> int:
        return len(self._idle)


@cache
def openai_clients(api_key: str, base_url: str | None, timeout: float) -> OpenAIClients:
    """The clients for one (key, server, timeout) in a process, shared by its threads."""
    return OpenAIClients(api_key=api_key, base_url=base_url, timeout=timeout)


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


# Statuses that mean "this request is wrong", whatever the server: never worth repeating.
REFUSED_STATUSES = frozenset({400, 404, 413, 422})
# A 5xx whose text says this: the server refused a parameter (llama.cpp answers an unknown
# `response_format` with HTTP 500), so repeating the same request cannot help.
_UNSUPPORTED = re.compile(
    r"not supported|unsupported|unknown (?:parameter|field|model)|invalid (?:value|parameter)"
    r"|unrecognized|extra (?:inputs|fields) (?:are )?not permitted|validation error",
    re.I,
)
# Pydantic's echo of the offending value (`'input': 'json_schema'`): part of the request.
_INPUT_ECHO = re.compile(r"""['"]input['"]:\s*(?:'[^']*'|"[^"]*"|[^,}]*),?\s*""")


def server_message(exc: openai.APIStatusError) -> str:
    """The server's own error text, without any echo of the request: FastAPI-style
    validation details give only their location and message, never their `input`."""
    body: Any = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict | str):
        body = body["error"]
    if isinstance(body, dict):
        detail = body.get("message") or body.get("detail") or body.get("msg")
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    loc = ".".join(str(p) for p in item.get("loc") or () if p != "body")
                    parts.append(f"{loc}: {item.get('msg', '')}".strip(": "))
            detail = "; ".join(parts)
        text = str(detail or "")
    elif isinstance(body, str):
        text = body
    else:
        text = ""
    text = text.split("\n\n", 1)[0]  # llama.cpp appends a traceback after a blank line
    return " ".join(_INPUT_ECHO.sub("", text).split())


def _error_from_status(exc: openai.APIStatusError, *, model: str) -> LLMError:
    status = exc.status_code
    facts: dict[str, Any] = {
        "request_id": exc.request_id or "",
        "status_code": status,
        "server_message": server_message(exc),
        "model": model,
    }
    if status in REFUSED_STATUSES or (
        status >= 500 and _UNSUPPORTED.search(facts["server_message"])
    ):
        return LLMPermanentError(REJECTED, f"HTTP {status}", **facts)
    if status == 429:
        return LLMTransientError(
            "rate_limited", "HTTP 429", retry_after=_retry_after(exc.response.headers), **facts
        )
    if status >= 500:
        return LLMTransientError(
            "server_error",
            f"HTTP {status}",
            retry_after=_retry_after(exc.response.headers),
            **facts,
        )
    if status == 408:
        return LLMTransientError("timeout", "HTTP 408", **facts)
    if status == 409:
        return LLMTransientError("error", "HTTP 409", **facts)
    return LLMPermanentError("error", f"HTTP {status}", **facts)


class OpenAIProvider:
    name = "openai"
    shared_limits = True

    def __init__(self, *, api_key: str, base_url: str | None, timeout: float, mode: str) -> None:
        self.clients = openai_clients(api_key, base_url, timeout)
        self.base_url = base_url
        self.mode = mode
        self.resolves_models = not hosted_openai(base_url)

    def call(
        self,
        *,
        stage: str,
        prompt: RenderedPrompt,
        schema: type[BaseModel],
        model: str,
        reasoning_effort: str | None,
    ) -> ProviderReply:
        with self.clients.borrow() as client:  # probes only the first time (cached)
            caps = server_capabilities(client, self.base_url, self.mode)
        sent_model = model_resolve(model, caps)
        messages: list[Any] = messages_build(prompt, schema, caps)
        options: dict[str, Any] = token_options(
            stage, sent_model, caps, scale=prompt.max_tokens_scale
        )
        effort = effort_resolve(sent_model, reasoning_effort, caps)
        if effort:
            options["reasoning_effort"] = effort
        body: dict[str, Any] = {"model": sent_model, "messages": messages, **options}
        if caps.structured == JSON_SCHEMA:
            body["response_format"] = json_schema_response_format(schema)
        else:
            body.update(response_format_for(schema, caps))
        started = time.perf_counter()
        try:
            with self.clients.borrow() as client:
                reply = chat_completion_post(client, body)
        except openai.APITimeoutError:
            raise LLMTransientError("timeout", "request timed out", model=sent_model) from None
        except openai.APIStatusError as exc:
            raise _error_from_status(exc, model=sent_model) from None
        except openai.APIConnectionError:
            raise LLMTransientError("error", "connection failed", model=sent_model) from None
        latency_ms = (time.perf_counter() - started) * 1000
        numbers = _usage_numbers(reply.body.get("usage"))
        facts: dict[str, Any] = {**numbers, "request_id": reply.request_id}
        errors: dict[str, Any] = {**facts, "model": sent_model}
        if reply.choice() is None:
            raise LLMMalformedOutput("malformed", "no choices", **errors)
        if reply.refusal:
            raise LLMPermanentError("refusal", "the model refused", **errors)
        if reply.finish_reason == "length":
            raise LLMPermanentError("truncated", "finish_reason=length", **errors)
        if reply.finish_reason == "content_filter":
            raise LLMPermanentError("refusal", "content filter", **errors)
        try:
            parsed = schema.model_validate_json(json_text(reply.content))
        except pydantic.ValidationError:
            raise LLMMalformedOutput(
                "malformed", "reply does not match the schema", **errors
            ) from None
        return ProviderReply(
            parsed=parsed,
            model=reply.model or sent_model,
            latency_ms=latency_ms,
            **facts,
        )
