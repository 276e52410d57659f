"""What an OpenAI-compatible server can do, and the decisions that follow from it: which model
to send, how to ask for structured output, where the instructions go, which optional
parameters to send and how many output tokens a stage may use.

The facts come from `server_probe.py`; everything here is a pure function of them, so the
adaptation is tested without a server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from pydantic import BaseModel

from pipeline.llm.catalogue import KNOWN_MODELS, model_coerce, reasoning_effort_for
from pipeline.models import Stage
from pipeline.prompts import RenderedPrompt

# Structured-output modes, most to least constrained. `json_object_schema` is llama.cpp's
# grammar mode (`{"type": "json_object", "schema": …}`); `prompt` sends no response_format.
JSON_SCHEMA = "json_schema"
JSON_OBJECT_SCHEMA = "json_object_schema"
JSON_OBJECT = "json_object"
PROMPT = "prompt"
MODES = (JSON_SCHEMA, JSON_OBJECT_SCHEMA, JSON_OBJECT, PROMPT)

# Which `LLM_MAX_TOKENS` budget each stage spends.
STAGE_BUDGET: dict[str, str] = {
    Stage.STRATEGY: "strategy",
    Stage.GENERATION: "draft",
    Stage.VERIFIER: "verify",
    Stage.MEETING_EXTRACT: "overseer",
    Stage.MEETING_GATE: "overseer",
    Stage.EVALUATION: "evaluate",
    Stage.REVISION_SELECTOR: "evaluate",
    Stage.REVISION_REVISER: "draft",
}
# A hosted reasoning model spends hidden reasoning tokens from the same budget: give it room
# so the visible answer is not cut off.
REASONING_ALLOWANCE_TOKENS = 4096


@dataclass(frozen=True)
class ServerCapabilities:
    """What one server (one `OPENAI_BASE_URL`) was found to accept."""

    hosted_openai: bool
    models: tuple[str, ...] = ()  # empty: the server lists none, so nothing is validated
    structured: str = JSON_SCHEMA
    system_role: bool = True
    notes: tuple[str, ...] = field(default=())  # what the probe saw, for the log line


def model_resolve(requested: str, caps: ServerCapabilities) -> str:
    """The model to send: the requested one when the server offers it, else the deployment's
    `LLM_DEFAULT_MODEL` when offered, else the server's first model. A local server that
    answers any name would otherwise label Gemma's replies `gpt-5-mini`. A server that lists
    nothing gets the catalogue's coercion (`model_coerce`), as hosted OpenAI does."""
    if not caps.models:
        return model_coerce(requested)
    if requested in caps.models:
        return requested
    default = str(settings.LLM_DEFAULT_MODEL)
    return default if default in caps.models else caps.models[0]


def effort_resolve(model: str, effort: str | None, caps: ServerCapabilities) -> str | None:
    """`reasoning_effort` only for OpenAI reasoning models, on OpenAI itself or on a server
    that lists that model by name (a gateway in front of OpenAI): other servers either reject
    it or ignore it silently."""
    if not (caps.hosted_openai or model in caps.models):
        return None
    return reasoning_effort_for(model, effort)


def token_options(
    stage: str, model: str, caps: ServerCapabilities, scale: int = 1
) -> dict[str, int]:
    """The output-token cap for one call (`scale` times the stage's budget: a truncated reply
    is asked again with more). Hosted OpenAI takes `max_completion_tokens` (reasoning models
    refuse `max_tokens`); everyone else understands `max_tokens`."""
    budgets: dict[str, int] = settings.LLM_MAX_TOKENS
    budget = int(budgets[STAGE_BUDGET.get(stage, "draft")]) * max(1, scale)
    if caps.hosted_openai:
        if KNOWN_MODELS.get(model, False):
            budget += REASONING_ALLOWANCE_TOKENS
        return {"max_completion_tokens": budget}
    return {"max_tokens": budget}


@cache
def schema_json(schema: type[BaseModel]) -> dict[str, Any]:
    return schema.model_json_schema()


@cache
def _schema_instructions(schema: type[BaseModel]) -> str:
    return (
        "\n\nReply with one JSON object and nothing else. It must match this JSON schema:\n"
        + json.dumps(schema_json(schema), separators=(",", ":"))
    )


def messages_build(
    prompt: RenderedPrompt, schema: type[BaseModel], caps: ServerCapabilities
) -> list[dict[str, str]]:
    """The chat messages. Without `json_schema` the schema goes into the instructions; when
    the server drops the system role (llama.cpp's gemma format) the instructions open the
    user message instead, so the model still sees them."""
    system = prompt.system
    if caps.structured != JSON_SCHEMA:
        system += _schema_instructions(schema)
    if not caps.system_role:
        return [{"role": "user", "content": f"{system}\n\n{prompt.user}"}]
    return [{"role": "system", "content": system}, {"role": "user", "content": prompt.user}]


def response_format_for(schema: type[BaseModel], caps: ServerCapabilities) -> dict[str, Any]:
    """The `response_format` for the create() modes (`json_schema` goes through parse())."""
    if caps.structured == JSON_OBJECT_SCHEMA:
        return {"response_format": {"type": "json_object", "schema": schema_json(schema)}}
    if caps.structured == JSON_OBJECT:
        return {"response_format": {"type": "json_object"}}
    return {}


def json_text(content: str) -> str:
    """The JSON object in a reply that was only asked (not forced) to be JSON: weak models
    wrap it in a code fence or a sentence. The schema still validates what is found."""
    start, end = content.find("{"), content.rfind("}")
    return content[start : end + 1] if 0 <= start < end else content
