"""An OpenAI-compatible model server that answers every stage after a set latency: the
project's stand-in for a slow real provider in benchmarks and process-level tests.

    .venv/bin/python bench/fake_openai.py --port 8091 --latency 1.0 [--rate-limit-every 4]

It speaks just enough of the API (`GET /v1/models`, `POST /v1/chat/completions`, HTTP/1.1
keep-alive) for the `openai` SDK, in all three structured-output styles: `json_schema`
(the schema's name), `json_object` with a llama.cpp-style `schema`, and the schema written
into the prompt. Each reply is a fixed, schema-valid answer for the stage the request names
(a plain reply to a pricing question, confidence 0.9), so the server's own CPU cost stays
near zero and the worker's behaviour is what is measured. It is a fake, and says so in its
model name (`fake-model`).

Faults, for tests: `--rate-limit-every N` answers every Nth call 429 with `Retry-After`,
`--error-every N` answers every Nth call 500, `--garbage-every N` answers with text that is
not JSON. `GET /stats` reports calls, in-flight and peak in-flight calls, and faults served;
`POST /stats/reset` zeroes them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import time
from typing import Any

MODEL = "fake-model"
REPLY_TEXT = (
    "Thanks for asking! Our standard residential installation starts at $12,000 before "
    "incentives, and a free site survey gives you an exact quote. Would you like to book one?"
)
ANSWERS: dict[str, dict[str, Any]] = {
    "StrategyOutput": {
        "intent": "question",
        "risk_flags": [],
        "questions": ["How much does an installation cost?"],
        "answer_plan": ["Give the starting price", "Offer a site survey"],
        "source_ids": [],
        "should_reply": True,
        "tone": "friendly",
    },
    "GenerationOutput": {"text": REPLY_TEXT, "source_ids": []},
    "VerifierOutput": {
        "text": REPLY_TEXT,
        "source_ids": [],
        "removed": [],
        "unsupported": False,
        "shortened": False,
    },
    "MeetingExtractOutput": {
        "wants_meeting": False,
        "mode": "unspecified",
        "proposed_times": [],
        "timezone": None,
    },
    "MeetingGateOutput": {"decision": "allow", "reason": "No meeting is proposed."},
    "EvaluationOutput": {"confidence": 0.9, "reasons": ["Answers the question."], "weaknesses": []},
    "RevisionSelectorOutput": {"fixes": []},
    "RevisionReviserOutput": {"text": REPLY_TEXT, "applied": [], "source_ids": []},
}
_TITLE = re.compile(r'"title":\s*"(\w+Output)"')


def schema_instance(schema: dict[str, Any]) -> Any:
    """The smallest value a JSON schema accepts: what a server that enforces an unknown
    schema (a grammar) is bound to return, so capability probes see enforcement."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: schema_instance(props[name]) for name in schema.get("required", props)}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))


def _requested_schema(request: dict[str, Any]) -> dict[str, Any] | None:
    fmt = request.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
    return schema if isinstance(schema, dict) else None


def schema_name(request: dict[str, Any]) -> str:
    """Which stage schema a request asks for, whichever way it carries the schema."""
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return str((fmt.get("json_schema") or {}).get("name", ""))
    schema = fmt.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("title"), str):
        return str(schema["title"])
    text = " ".join(str(m.get("content", "")) for m in request.get("messages") or [])
    titles = [t for t in _TITLE.findall(text) if t in ANSWERS]
    return titles[-1] if titles else ""


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.rate_limited = 0
        self.errors = 0
        self.garbage = 0
        self.started = time.time()

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "rate_limited": self.rate_limited,
            "errors": self.errors,
            "garbage": self.garbage,
            "since": self.started,
        }


class FakeServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stats = Stats()

    def _fault(self, number: int) -> tuple[int, dict[str, str], bytes] | None:
        args = self.args
        if args.rate_limit_every and number % args.rate_limit_every == 0:
            self.stats.rate_limited += 1
            body = {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}
            return 429, {"Retry-After": str(args.retry_after)}, json.dumps(body).encode()
        if args.error_every and number % args.error_every == 0:
            self.stats.errors += 1
            body = {"error": {"message": "The server had an error", "type": "server_error"}}
            return 500, {}, json.dumps(body).encode()
        return None

    async def completion(self, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        self.stats.calls += 1
        number = self.stats.calls
        fault = self._fault(number)  # a refusal comes back at once, as a real one does
        if fault is not None:
            return fault
        self.stats.in_flight += 1
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
        try:
            latency = self.args.latency * random.uniform(1 - self.args.jitter, 1 + self.args.jitter)
            await asyncio.sleep(max(0.0, latency))
        finally:
            self.stats.in_flight -= 1
        name = schema_name(request)
        if self.args.garbage_every and number % self.args.garbage_every == 0:
            self.stats.garbage += 1
            content = "Sure! Here is what I think about that"
        elif name in ANSWERS:
            content = json.dumps(ANSWERS[name])
        elif (schema := _requested_schema(request)) is not None:
            content = json.dumps(schema_instance(schema))
        elif (request.get("response_format") or {}).get("type") == "json_object":
            content = "{}"
        elif not request.get("response_format"):
            content = "Hello."
        else:
            body = {"error": {"message": f"unknown schema {name!r}", "type": "invalid_request"}}
            return 400, {}, json.dumps(body).encode()
        # About four characters a token, as real tokenizers count English.
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in request["messages"]) // 4
        reply = {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(request.get("model") or MODEL),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": 80,
                "total_tokens": prompt_tokens + 80,
            },
        }
        return 200, {"x-request-id": f"req-fake-{number}"}, json.dumps(reply).encode()

    async def route(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        path = path.split("?", 1)[0].rstrip("/")
        if method == "GET" and path.endswith("/models"):
            listing = {"object": "list", "data": [{"id": MODEL, "object": "model"}]}
            return 200, {}, json.dumps(listing).encode()
        if method == "GET" and path == "/stats":
            return 200, {}, json.dumps(self.stats.as_dict()).encode()
        if method == "POST" and path == "/stats/reset":
            self.stats.reset()
            return 200, {}, b"{}"
        if method == "POST" and path.endswith("/chat/completions"):
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                return 400, {}, b'{"error": {"message": "body is not JSON"}}'
            return await self.completion(request)
        return 404, {}, b'{"error": {"message": "not found"}}'

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, extra, payload = await self.route(method, path, body)
                reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}
                head_out = [
                    f"HTTP/1.1 {status} {reason.get(status, 'Error')}",
                    "Content-Type: application/json",
                    f"Content-Length: {len(payload)}",
                    *(f"{k}: {v}" for k, v in extra.items()),
                ]
                writer.write(("\r\n".join(head_out) + "\r\n\r\n").encode() + payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def serve(args: argparse.Namespace) -> None:
    fake = FakeServer(args)
    server = await asyncio.start_server(fake.handle, args.host, args.port, backlog=2048)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"fake-openai listening on http://{args.host}:{args.port}/v1", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per call")
    parser.add_argument("--jitter", type=float, default=0.1, help="± fraction of the latency")
    parser.add_argument("--rate-limit-every", type=int, default=0)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--error-every", type=int, default=0)
    parser.add_argument("--garbage-every", type=int, default=0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
