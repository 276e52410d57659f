"""The `openai` provider against a local OpenAI-compatible fake at the HTTP layer: parsing in
both structured-output modes, usage and request ids recorded, and what timeouts, 429s,
5xx, malformed JSON, refusals and truncation do to a call and to a pipeline run."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from drafts.models import Draft, Notification
from pipeline.llm import CallContext, LLMPermanentError, LLMTransientError, complete
from pipeline.llm.catalogue import KNOWN_MODELS
from pipeline.llm.openai_provider import OpenAIClients
from pipeline.llm.openai_wire import chat_completion_post
from pipeline.llm.server_probe import capabilities_forget
from pipeline.models import AIInteraction, PipelineRun, Stage
from pipeline.prompts import prompt_render
from pipeline.schemas import StrategyOutput
from pipeline.tasks import resume_stale_runs, run_for_message
from tests.pipeline_support import channel_of, demo_workspace, inbound

pytestmark = pytest.mark.django_db

USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "completion_tokens_details": {"reasoning_tokens": 10},
    "prompt_tokens_details": {"cached_tokens": 5},
}


@dataclass
class Reply:
    status: int = 200
    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: str | None = None
    usage: dict[str, Any] | None = None


def schema_name(request: dict[str, Any]) -> str:
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return str(fmt["json_schema"]["name"])
    if isinstance(fmt.get("schema"), dict):
        return str(fmt["schema"].get("title", ""))
    system = request["messages"][0]["content"]
    match = re.search(r'"title":"(\w+Output)"', system)
    return match.group(1) if match else ""


def canned(request: dict[str, Any]) -> Reply:
    """A well-behaved model: a valid answer for whichever stage asked. Its generation invents
    a discount the sources never mention."""
    user = request["messages"][-1]["content"]
    ids = re.findall(r"\[([0-9a-f-]{36})\] Batteries", user)
    name = schema_name(request)
    answers: dict[str, Any] = {
        "StrategyOutput": {
            "intent": "question",
            "risk_flags": [],
            "questions": ["How much extra is a battery?"],
            "answer_plan": ["Give the battery price range."],
            "source_ids": ids,
            "should_reply": True,
            "tone": "warm",
        },
        "GenerationOutput": {
            "text": "Hi Sam, a single battery adds about $11,000 to $14,000 before incentives. "
            "This week we can take $500 off.",
            "source_ids": ids,
        },
        "VerifierOutput": None,  # filled from the draft it was given
        "MeetingExtractOutput": {
            "wants_meeting": False,
            "mode": "unspecified",
            "proposed_times": [],
            "timezone": None,
        },
        "MeetingGateOutput": {"decision": "allow", "reason": "No meeting requested."},
        # Auto-send is off in the demo workspace: the draft is still evaluated, in shadow.
        "EvaluationOutput": {"confidence": 0.7, "reasons": ["Gives the range."], "weaknesses": []},
    }
    if name == "VerifierOutput":
        draft = re.search(r"Draft:\n<<<\n(.*?)\n>>>", user, re.S)
        answers[name] = {
            "text": draft.group(1) if draft else "",
            "source_ids": [],
            "removed": [],
            "unsupported": False,
            "shortened": False,
        }
    return Reply(content=json.dumps(answers[name]))


# What the fake lists at GET /v1/models unless a test says otherwise: a gateway in front of
# OpenAI, so hosted names (and their reasoning effort) are offered.
HOSTED_MODELS = tuple(KNOWN_MODELS)


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.responder: Callable[[dict[str, Any]], Reply] = canned
        self.requests: list[dict[str, Any]] = []
        self.models: tuple[str, ...] | None = HOSTED_MODELS  # None: no /v1/models endpoint
        self.model_listings = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.endswith("/models") or fake.models is None:
                    self.send_error(404)
                    return
                fake.model_listings += 1
                body = json.dumps(
                    {
                        "object": "list",
                        "data": [
                            {"id": m, "object": "model", "created": 0, "owned_by": "x"}
                            for m in fake.models
                        ],
                    }
                )
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(request)
                reply = fake.script.pop(0) if fake.script else fake.responder(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.raw is not None:
                    body = reply.raw
                elif reply.status != 200:
                    body = json.dumps(
                        {"error": {"message": reply.content or "nope", "type": "server_error"}}
                    )
                else:
                    body = json.dumps(
                        {
                            "id": "chatcmpl-1",
                            "object": "chat.completion",
                            "created": 0,
                            "model": request.get("model", ""),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {
                                        "role": "assistant",
                                        "content": reply.content,
                                        "refusal": reply.refusal,
                                    },
                                    "finish_reason": reply.finish_reason,
                                    "logprobs": None,
                                }
                            ],
                            "usage": reply.usage or USAGE,
                        }
                    )
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("x-request-id", f"req_{len(fake.requests)}")
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def fake_openai(settings: Any) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    fake.thread.start()
    settings.LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = fake.base_url
    settings.LLM_DEFAULT_MODEL = "gpt-5-mini"
    settings.LLM_STRUCTURED_OUTPUT = "json_schema"
    settings.LLM_TIMEOUT_SECONDS = 0.5
    settings.LLM_MAX_RETRIES = 1
    settings.LLM_SLOT_WAIT_SECONDS = 1  # 429s are retried within this window
    capabilities_forget()
    yield fake
    capabilities_forget()
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def demo():
    return demo_workspace()


def _call(demo: Any, *, model: str | None = "gpt-5-mini", effort: str | None = None) -> Any:
    prompt = prompt_render(
        "draft_strategy",
        variables={
            "workspace": "Acme",
            "channel": "email",
            "guidelines": "(none)",
            "lead": "(nothing on file)",
            "thread": "(no earlier messages)",
            "message": "How much extra is a battery?",
            "knowledge": "(none)",
            "samples": "(none)",
            "length_rule": "",
        },
        inputs={},
    )
    return complete(
        stage=Stage.STRATEGY,
        prompt=prompt,
        schema=StrategyOutput,
        model=model,
        reasoning_effort=effort,
        context=CallContext(workspace_id=demo.workspace.pk),
    )


def _outcomes() -> list[str]:
    return list(AIInteraction.objects.order_by("id").values_list("outcome", flat=True))


def test_a_structured_reply_is_parsed_and_its_usage_recorded(fake_openai, demo):
    parsed, usage = _call(demo, effort="high")
    assert isinstance(parsed, StrategyOutput)
    assert parsed.intent == "question"
    assert (usage.input_tokens, usage.output_tokens) == (120, 30)
    assert (usage.reasoning_tokens, usage.cached_tokens) == (10, 5)
    assert usage.request_id == "req_1"
    assert (usage.provider, usage.model, usage.attempts) == ("openai", "gpt-5-mini", 1)
    request = fake_openai.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["name"] == "StrategyOutput"
    assert request["reasoning_effort"] == "high"
    row = AIInteraction.objects.get()
    assert (row.outcome, row.provider, row.attempt) == ("ok", "openai", 1)
    assert (row.input_tokens, row.output_tokens, row.reasoning_tokens, row.cached_tokens) == (
        120,
        30,
        10,
        5,
    )
    assert (row.request_id, row.prompt_key, row.prompt_version) == ("req_1", "draft_strategy", "v1")


def test_json_object_mode_sends_the_schema_in_the_prompt(fake_openai, demo, settings):
    settings.LLM_STRUCTURED_OUTPUT = "json_object"
    parsed, _ = _call(demo)
    assert parsed.intent == "question"
    request = fake_openai.requests[0]
    assert request["response_format"] == {"type": "json_object"}
    assert '"title":"StrategyOutput"' in request["messages"][0]["content"]


def test_unknown_models_fall_back_and_effort_goes_only_to_reasoning_models(fake_openai, demo):
    _call(demo, model="gpt-imaginary-9", effort="high")
    _call(demo, model="gpt-4o-mini", effort="high")
    _call(demo, model="gpt-5.2", effort="extreme")
    first, second, third = fake_openai.requests
    assert first["model"] == "gpt-5-mini"
    assert first["reasoning_effort"] == "high"
    assert second["model"] == "gpt-4o-mini"
    assert "reasoning_effort" not in second
    assert third["model"] == "gpt-5.2"
    assert "reasoning_effort" not in third


def test_a_timeout_is_retried_then_reported_transient(fake_openai, demo):
    fake_openai.script = [Reply(delay=1.5), Reply(delay=1.5)]
    with pytest.raises(LLMTransientError) as caught:
        _call(demo)
    assert caught.value.outcome == "timeout"
    assert _outcomes() == ["timeout", "timeout"]
    assert list(AIInteraction.objects.values_list("attempt", flat=True).order_by("id")) == [1, 2]


def test_a_rate_limit_is_retried_and_then_succeeds(fake_openai, demo):
    fake_openai.script = [Reply(status=429, headers={"retry-after-ms": "1"})]
    parsed, usage = _call(demo)
    assert parsed.intent == "question"
    assert usage.attempts == 2
    assert _outcomes() == ["rate_limited", "ok"]
    assert len(fake_openai.requests) == 2


def test_429s_do_not_use_up_the_retries_of_a_call(fake_openai, demo, settings):
    settings.LLM_SLOT_WAIT_SECONDS = 10
    paced = Reply(status=429, headers={"retry-after-ms": "1"})
    fake_openai.script = [paced, paced, paced, Reply(status=500, headers={"retry-after-ms": "1"})]
    parsed, usage = _call(demo)  # LLM_MAX_RETRIES = 1, yet three 429s and a 500 are survived
    assert parsed.intent == "question"
    assert _outcomes() == ["rate_limited"] * 3 + ["server_error", "ok"]
    assert usage.attempts == 5


def test_server_errors_are_bounded_and_transient(fake_openai, demo):
    fake_openai.script = [Reply(status=500, headers={"retry-after-ms": "1"})] * 3
    with pytest.raises(LLMTransientError) as caught:
        _call(demo)
    assert caught.value.outcome == "server_error"
    assert _outcomes() == ["server_error", "server_error"]
    assert len(fake_openai.requests) == 2


def test_malformed_json_is_asked_again_then_permanent_with_tokens_recorded(fake_openai, demo):
    fake_openai.script = [Reply(content="{not json"), Reply(content='{"intent": "question"}')]
    with pytest.raises(LLMPermanentError) as caught:
        _call(demo)
    assert caught.value.outcome == "malformed"
    rows = list(AIInteraction.objects.order_by("id"))
    assert [r.outcome for r in rows] == ["malformed", "malformed"]
    assert [(r.input_tokens, r.output_tokens) for r in rows] == [(120, 30), (120, 30)]


def test_a_malformed_reply_then_a_good_one_succeeds(fake_openai, demo):
    fake_openai.script = [Reply(content="[]")]
    parsed, usage = _call(demo)
    assert parsed.intent == "question"
    assert usage.input_tokens == 240  # both attempts were paid for
    assert _outcomes() == ["malformed", "ok"]


def test_a_refusal_is_permanent_at_once(fake_openai, demo):
    fake_openai.script = [Reply(content=None, refusal="I can't help with that.")]
    with pytest.raises(LLMPermanentError) as caught:
        _call(demo)
    assert caught.value.outcome == "refusal"
    assert _outcomes() == ["refusal"]
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize("mode", ["json_schema", "json_object"])
def test_truncated_output_is_permanent_with_tokens_recorded(fake_openai, demo, settings, mode):
    settings.LLM_STRUCTURED_OUTPUT = mode
    fake_openai.script = [Reply(content='{"intent": "quest', finish_reason="length")]
    with pytest.raises(LLMPermanentError) as caught:
        _call(demo)
    assert caught.value.outcome == "truncated"
    row = AIInteraction.objects.get()
    assert (row.outcome, row.input_tokens, row.output_tokens) == ("truncated", 120, 30)


def test_a_run_through_openai_drops_the_invented_discount(fake_openai, demo, caplog):
    caplog.set_level(logging.DEBUG)
    message = inbound(channel_of(demo, "email"), "How much extra is a battery? zebrawalrus")
    run_for_message.apply(args=[str(message.pk)])
    run = PipelineRun.objects.get()
    assert run.status == PipelineRun.Status.COMPLETED
    assert run.provider == "openai"
    draft = Draft.objects.get()
    assert "$11,000 to $14,000" in draft.text
    assert "$500" not in draft.text
    assert draft.unsupported is True
    assert [s["title"] for s in draft.sources] == ["Batteries"]
    rows = AIInteraction.objects.filter(run=run)
    assert rows.count() == 6  # five drafting stages and the shadow evaluation
    assert set(rows.values_list("outcome", "input_tokens", "reasoning_tokens")) == {("ok", 120, 10)}
    for row in rows.values():
        assert not any("zebrawalrus" in str(value) for value in row.values())
    assert "zebrawalrus" not in caplog.text


def _retry_due(run: PipelineRun) -> None:
    """Time passes: the parked run's retry is due."""
    PipelineRun.objects.filter(pk=run.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_provider_outage_parks_the_run_and_it_resumes_when_the_provider_is_back(
    fake_openai, demo, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    fake_openai.responder = lambda request: Reply(status=429, headers={"retry-after-ms": "1"})
    message = inbound(channel_of(demo, "email"), "How much extra is a battery? zebrawalrus")
    run_for_message.apply(args=[str(message.pk)])
    assert "llm call failed" in caplog.text  # the failures are logged, by ids and numbers
    assert "zebrawalrus" not in caplog.text
    gateway_attempts = 2  # 429s retried for LLM_SLOT_WAIT_SECONDS = 1: after 0.5 s, once
    assert len(fake_openai.requests) == gateway_attempts
    run = PipelineRun.objects.get()
    # Not failed, not a person's job yet: waiting, with when it tries again.
    assert run.status == PipelineRun.Status.RUNNING
    assert run.waiting_reason == "waiting for the model provider: rate_limited"
    assert run.retries == 1
    assert run.lease_token is None
    assert run.lease_expires_at > timezone.now()
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resume_stale_runs()
    assert callbacks == []  # not due yet

    # Still down at the next try: parked again, the backoff grows.
    _retry_due(run)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resume_stale_runs()
    assert len(callbacks) == 1
    run_for_message.apply(args=[str(message.pk)])
    run.refresh_from_db()
    assert (run.status, run.retries, run.attempts) == ("running", 2, 2)

    # The provider is back: the next try drafts the reply.
    fake_openai.responder = canned
    _retry_due(run)
    run_for_message.apply(args=[str(message.pk)])
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.COMPLETED
    assert Draft.objects.filter(trigger_message=message).count() == 1
    assert set(_outcomes()) == {"rate_limited", "ok"}


def test_a_provider_outage_longer_than_the_retry_window_leaves_the_message_to_a_person(
    fake_openai, demo, settings
):
    fake_openai.responder = lambda request: Reply(status=503)
    message = inbound(channel_of(demo, "email"), "How much extra is a battery?")
    run_for_message.apply(args=[str(message.pk)])
    run = PipelineRun.objects.get()
    PipelineRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(hours=7))
    _retry_due(run)
    run_for_message.apply(args=[str(message.pk)])
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.FAILED
    assert run.error == "provider_unavailable: server_error"
    notice = Notification.objects.get()
    assert (notice.kind, notice.message_id) == ("pipeline_failed", message.pk)
    # Once failed, a later delivery changes nothing.
    calls = len(fake_openai.requests)
    run_for_message.apply(args=[str(message.pk)])
    assert len(fake_openai.requests) == calls


def test_a_parked_run_whose_message_was_answered_meanwhile_stops(fake_openai, demo):
    fake_openai.responder = lambda request: Reply(status=500)
    message = inbound(channel_of(demo, "email"), "How much extra is a battery?")
    run_for_message.apply(args=[str(message.pk)])
    run = PipelineRun.objects.get()
    inbound(channel_of(demo, "email"), "Never mind, found it.", conversation=message.conversation)
    _retry_due(run)
    run_for_message.apply(args=[str(message.pk)])
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.ABORTED
    assert not Draft.objects.exists()


def test_a_refusal_fails_the_run_at_once_for_review(fake_openai, demo):
    fake_openai.responder = lambda request: Reply(content=None, refusal="No.")
    message = inbound(channel_of(demo, "sms"), "How much extra is a battery?")
    run_for_message.apply(args=[str(message.pk)])
    run = PipelineRun.objects.get()
    assert (run.status, run.error, run.attempts) == ("failed", "llm_refusal", 1)
    assert len(fake_openai.requests) == 1
    assert not Draft.objects.exists()
    assert Notification.objects.get().kind == "pipeline_failed"


def test_calls_in_flight_each_borrow_a_client_and_later_calls_reuse_them(fake_openai):
    """Eight calls at once hold eight clients (one connection each, so no call walks a pool
    shared with hundreds of others); the calls after them reuse those, none is built anew."""
    clients = OpenAIClients(api_key="sk-test", base_url=fake_openai.base_url, timeout=5)
    fake_openai.responder = lambda request: Reply(content="{}", delay=0.3)
    body = {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hi"}]}
    seen: list[int] = []
    barrier = threading.Barrier(8)

    def one() -> None:
        barrier.wait()
        with clients.borrow() as client:
            seen.append(id(client))
            assert chat_completion_post(client, body).content == "{}"

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 8  # at once: one client each
    assert clients.idle == 8
    for _ in range(8):
        with clients.borrow() as client:
            assert id(client) in seen  # one after another: the same client again
            chat_completion_post(client, body)
    assert clients.idle == 8
    assert len(fake_openai.requests) == 16
