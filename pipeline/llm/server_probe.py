"""Finding out, once per server, what an OpenAI-compatible endpoint accepts
(`ServerCapabilities`, pipeline/llm/capabilities.py), so `LLM_PROVIDER=openai` with only
`OPENAI_BASE_URL` and a key works against vLLM, llama.cpp, Ollama or OpenAI itself.

Why probe rather than configure: the same settings must work for a user who points the
product at whatever server they have. The probe costs a handful of tiny requests
(`max_tokens` of a few tokens) per `OPENAI_BASE_URL`, cached in process memory and in the
Django cache for `LLM_PROBE_TTL_SECONDS`. Hosted OpenAI is known and never probed.

- models: `GET /v1/models` (a server that lists none validates nothing);
- structured output (`LLM_STRUCTURED_OUTPUT=auto`): a schema that contradicts the prompt's
  instruction, so only a server that enforces the schema returns it; tried as `json_schema`,
  then llama.cpp's `json_object` with a `schema`, then plain `json_object`, then none;
- the system role: the prompt-token count with and without a long system message; a server
  that does not count it (llama.cpp's gemma chat format drops it) gets the instructions
  folded into the first user message. No count reported: fold, which every model reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

import openai
from django.conf import settings
from django.core.cache import cache
from openai import OpenAI

from pipeline.llm.capabilities import (
    JSON_OBJECT,
    JSON_OBJECT_SCHEMA,
    JSON_SCHEMA,
    MODES,
    PROMPT,
    ServerCapabilities,
    json_text,
)
from pipeline.llm.errors import LLMTransientError

logger = logging.getLogger("pipeline.llm")

AUTO = "auto"
_PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"probe": {"type": "string", "enum": ["replydesk"]}},
    "required": ["probe"],
    "additionalProperties": False,
}
_PROBE_EXPECTED = {"probe": "replydesk"}
# The instruction contradicts the schema: a reply matching the schema proves enforcement.
_PROBE_USER = 'Reply with exactly this JSON and nothing else: {"other": 1}'
_SYSTEM_FILLER = " ".join(["You are a careful assistant who answers briefly and politely."] * 8)
# Tokens the filler must add to the prompt for the system role to count as honoured.
_SYSTEM_MIN_TOKENS = 30

_memory: dict[str, tuple[float, ServerCapabilities]] = {}  # key → (expires, caps)
_lock = threading.Lock()
_probing = threading.Lock()


def hosted_openai(base_url: str | None) -> bool:
    """OpenAI's own API (no base URL, or an openai.com host): known, never probed."""
    if not base_url:
        return True
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "openai.com" or host.endswith(".openai.com")


def _cache_key(base_url: str | None, mode: str) -> str:
    digest = hashlib.sha256(f"{base_url or ''}|{mode}".encode()).hexdigest()[:24]
    return f"llm-caps:v1:{digest}"


def capabilities_forget() -> None:
    """Drop every remembered probe in this process (tests; a server swapped under a URL)."""
    with _lock:
        _memory.clear()


def server_capabilities(client: OpenAI, base_url: str | None, mode: str) -> ServerCapabilities:
    """What the server at `base_url` accepts, probed once and cached. `mode` is
    `LLM_STRUCTURED_OUTPUT`: `auto` probes; an explicit mode is used as given."""
    key = _cache_key(base_url, mode)
    remembered = _memory.get(key)
    if remembered is not None and remembered[0] > time.monotonic():
        return remembered[1]
    # One probe per process at a time: a worker's hundred threads starting together must not
    # each probe the server (the others wait, then read what the first one found).
    with _probing:
        remembered = _memory.get(key)
        if remembered is not None and remembered[0] > time.monotonic():
            return remembered[1]
        return _capabilities_find(client, base_url, mode, key)


def _capabilities_find(
    client: OpenAI, base_url: str | None, mode: str, key: str
) -> ServerCapabilities:
    ttl = int(settings.LLM_PROBE_TTL_SECONDS)
    stored = cache.get(key)
    caps = _from_dict(stored) if isinstance(stored, dict) else None
    if caps is None:
        caps = _probe(client, base_url, mode)
        if ttl:
            cache.set(key, asdict(caps), ttl)
        logger.info(
            "llm server probed",
            extra={
                "structured": caps.structured,
                "system_role": caps.system_role,
                "models": len(caps.models),
                "notes": ", ".join(caps.notes),
            },
        )
    with _lock:
        _memory[key] = (time.monotonic() + ttl, caps)
    return caps


def _from_dict(stored: dict[str, Any]) -> ServerCapabilities | None:
    try:
        caps = ServerCapabilities(
            hosted_openai=bool(stored["hosted_openai"]),
            models=tuple(stored["models"]),
            structured=str(stored["structured"]),
            system_role=bool(stored["system_role"]),
            notes=tuple(stored.get("notes") or ()),
        )
    except (KeyError, TypeError):
        return None
    return caps if caps.structured in MODES else None


def _probe(client: OpenAI, base_url: str | None, mode: str) -> ServerCapabilities:
    if hosted_openai(base_url):
        return ServerCapabilities(
            hosted_openai=True, structured=JSON_SCHEMA if mode == AUTO else mode
        )
    models = _models(client)
    if mode != AUTO:
        return ServerCapabilities(hosted_openai=False, models=models, structured=mode)
    model = _probe_model(models)
    notes: list[str] = []
    structured = _structured(client, model, notes)
    system_role = _system_role(client, model, notes)
    return ServerCapabilities(
        hosted_openai=False,
        models=models,
        structured=structured,
        system_role=system_role,
        notes=tuple(notes),
    )


def _probe_model(models: tuple[str, ...]) -> str:
    default = str(settings.LLM_DEFAULT_MODEL)
    return default if not models or default in models else models[0]


def _models(client: OpenAI) -> tuple[str, ...]:
    """The model ids the server lists; none when it has no such endpoint."""
    try:
        page = client.models.list()
    except openai.APIConnectionError:
        raise LLMTransientError("error", "connection failed (probing the model server)") from None
    except openai.APIError:
        return ()
    return tuple(str(item.id) for item in page.data if getattr(item, "id", None))


def _chat(client: OpenAI, **request: Any) -> Any | None:
    """One probe request: the raw body when the server accepted it, None when it refused.
    Connection trouble and rate limits are transient: nothing is cached, the call retries."""
    try:
        raw = client.chat.completions.with_raw_response.create(temperature=0, **request)
    except openai.APIConnectionError:
        raise LLMTransientError("error", "connection failed (probing the model server)") from None
    except openai.RateLimitError:
        raise LLMTransientError("rate_limited", "HTTP 429 (probing the model server)") from None
    except openai.APIStatusError:
        return None
    try:
        return raw.http_response.json()
    except ValueError:
        return None


def _content(body: Any) -> str:
    try:
        return str(body["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        return ""


def _enforced(body: Any) -> bool:
    try:
        return bool(json.loads(json_text(_content(body))) == _PROBE_EXPECTED)
    except ValueError:
        return False


def _structured(client: OpenAI, model: str, notes: list[str]) -> str:
    messages = [{"role": "user", "content": _PROBE_USER}]
    attempts: tuple[tuple[str, dict[str, Any]], ...] = (
        (
            JSON_SCHEMA,
            {
                "type": "json_schema",
                "json_schema": {"name": "Probe", "schema": _PROBE_SCHEMA, "strict": True},
            },
        ),
        (JSON_OBJECT_SCHEMA, {"type": "json_object", "schema": _PROBE_SCHEMA}),
    )
    for mode, response_format in attempts:
        body = _chat(
            client, model=model, messages=messages, max_tokens=24, response_format=response_format
        )
        if body is not None and _enforced(body):
            return mode
        notes.append(f"{mode}: {'ignored' if body is not None else 'refused'}")
    body = _chat(
        client,
        model=model,
        messages=messages,
        max_tokens=8,
        response_format={"type": "json_object"},
    )
    if body is not None:
        return JSON_OBJECT
    notes.append("json_object: refused")
    return PROMPT


def _prompt_tokens(body: Any) -> int:
    try:
        return int(body["usage"]["prompt_tokens"] or 0)
    except (KeyError, TypeError, ValueError):
        return 0


def _system_role(client: OpenAI, model: str, notes: list[str]) -> bool:
    user = {"role": "user", "content": "Hi"}
    bare = _chat(client, model=model, messages=[user], max_tokens=1)
    with_system = _chat(
        client,
        model=model,
        messages=[{"role": "system", "content": _SYSTEM_FILLER}, user],
        max_tokens=1,
    )
    bare_tokens, system_tokens = _prompt_tokens(bare), _prompt_tokens(with_system)
    if not bare_tokens or not system_tokens:
        notes.append("system role: unknown (no token counts), folded")
        return False
    honoured = system_tokens - bare_tokens >= _SYSTEM_MIN_TOKENS
    if not honoured:
        notes.append("system role: dropped by the server, folded")
    return honoured
