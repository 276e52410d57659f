"""One chat-completions request through the `openai` SDK's client, without the per-call
typing work of its resource methods.

`chat.completions.create()` and `.parse()` transform every parameter through the SDK's
TypedDicts and `.parse()` rebuilds the strict JSON schema from the pydantic model on every
call: together about 40% of a worker's CPU with a few hundred calls in flight (py-spy,
docs/architecture.md "Concurrency"). The same client's `post()` sends a body prepared once
through the same transport, auth, timeout and error mapping (`APIStatusError`,
`APITimeoutError`, `APIConnectionError`), and the reply is read as the JSON it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
from openai import OpenAI
from openai.lib._parsing._completions import type_to_response_format_param
from pydantic import BaseModel


@cache
def json_schema_response_format(schema: type[BaseModel]) -> dict[str, Any]:
    """`response_format` for strict structured output, as the SDK's `.parse()` builds it."""
    return dict(type_to_response_format_param(schema))  # type: ignore[arg-type]


@dataclass(frozen=True)
class WireReply:
    request_id: str
    body: dict[str, Any]

    def choice(self) -> dict[str, Any] | None:
        choices = self.body.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            return choices[0]
        return None

    def message(self) -> dict[str, Any]:
        message = (self.choice() or {}).get("message")
        return message if isinstance(message, dict) else {}

    @property
    def content(self) -> str:
        content = self.message().get("content")
        return content if isinstance(content, str) else ""

    @property
    def refusal(self) -> str:
        refusal = self.message().get("refusal")
        return refusal if isinstance(refusal, str) else ""

    @property
    def finish_reason(self) -> str:
        reason = (self.choice() or {}).get("finish_reason")
        return reason if isinstance(reason, str) else ""

    @property
    def model(self) -> str:
        model = self.body.get("model")
        return model if isinstance(model, str) else ""


def chat_completion_post(client: OpenAI, body: dict[str, Any]) -> WireReply:
    """POST /chat/completions; raises the SDK's own errors for status, timeout, connection."""
    response = client.post("/chat/completions", body=body, cast_to=httpx.Response)
    try:
        data = response.json()
    except ValueError:
        data = None
    return WireReply(
        request_id=response.headers.get("x-request-id", ""),
        body=data if isinstance(data, dict) else {},
    )
