"""Any OpenAI-compatible server just works (issue 16): against a fake that behaves like
llama-cpp-python's server with the gemma chat format (refuses `json_schema` with HTTP 500,
enforces `json_object` with a `schema`, drops the system role, offers one model), the
provider probes once and adapts; a request the server refuses is permanent, not retried,
and its own words reach the run, the telemetry row and the operator."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from drafts.models import Draft, Notification
from pipeline.llm import LLMPermanentError
from pipeline.models import AIInteraction, PipelineRun
from pipeline.tasks import run_for_message
from tests.pipeline_support import channel_of, inbound
from tests.test_llm_openai import Reply, _call, canned, demo, fake_openai, schema_name

pytestmark = pytest.mark.django_db

__all__ = ["demo", "fake_openai"]

LOCAL_MODEL = "gemma-3-270m"
# What llama-cpp-python 0.3.36 answers to `response_format: json_schema` (HTTP 500).
LLAMA_JSON_SCHEMA_ERROR = json.dumps(
    {
        "error": {
            "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
            "'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", "
            "'input': 'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n"
            '  File "/x/llama_cpp/server/app.py", line 376, in create_chat_completion\n'
            "    POST /v1/chat/completions",
            "type": "internal_server_error",
            "param": None,
            "code": None,
        }
    }
)


def llama_like(request: dict[str, Any]) -> Reply:
    """llama-cpp-python with `--chat_format gemma`: system messages never reach the model
    (nor its prompt-token count), `json_schema` is an internal error, a `json_object` schema
    is enforced by grammar."""
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return Reply(status=500, raw=LLAMA_JSON_SCHEMA_ERROR)
    seen = [m for m in request["messages"] if m["role"] != "system"]
    usage = {
        "prompt_tokens": sum(len(m["content"].split()) for m in seen) + 5,
        "completion_tokens": 3,
        "total_tokens": 0,
    }
    schema = fmt.get("schema") if fmt.get("type") == "json_object" else None
    if isinstance(schema, dict) and "probe" in schema.get("properties", {}):
        return Reply(content='{"probe": "replydesk"}', usage=usage)
    if request.get("max_tokens") == 1:
        return Reply(content="Hi", finish_reason="length", usage=usage)
    if schema is None and not schema_name(request):
        return Reply(content='{"other": 1}', usage=usage)  # a probe: follows the prompt
    reply = canned(request)
    return Reply(content=reply.content, usage=usage)


@pytest.fixture
def llama(fake_openai, settings):
    settings.LLM_STRUCTURED_OUTPUT = "auto"
    settings.LLM_DEFAULT_MODEL = LOCAL_MODEL
    fake_openai.models = (LOCAL_MODEL,)
    fake_openai.responder = llama_like
    return fake_openai


def _stage_requests(fake: Any) -> list[dict[str, Any]]:
    """The requests that were stage calls, not probes."""
    return [
        r
        for r in fake.requests
        if "title" in ((r.get("response_format") or {}).get("schema") or {})
    ]


def test_a_llama_cpp_like_server_is_probed_once_and_every_call_adapts(llama, demo, settings):
    parsed, usage = _call(demo, model="gpt-5-mini", effort="high")
    _call(demo, model="gpt-5-mini", effort="high")
    assert parsed.intent == "question"
    assert usage.model == LOCAL_MODEL
    assert llama.model_listings == 1  # probed once, then remembered
    probes = len(llama.requests) - 2
    first, second = _stage_requests(llama)
    assert len(llama.requests) == probes + 2
    for request in (first, second):
        # The deployment's model, not the workspace's hosted name; no reasoning effort.
        assert request["model"] == LOCAL_MODEL
        assert "reasoning_effort" not in request
        assert request["max_tokens"] == settings.LLM_MAX_TOKENS["strategy"]
        # llama.cpp's grammar mode carries the stage's schema...
        assert request["response_format"]["type"] == "json_object"
        assert request["response_format"]["schema"]["title"] == "StrategyOutput"
        # ...and the instructions open the user message, since the system role is dropped.
        [message] = request["messages"]
        assert message["role"] == "user"
        assert message["content"].startswith("You ")
        assert "How much extra is a battery?" in message["content"]
    rows = AIInteraction.objects.order_by("id")
    assert [(r.outcome, r.model) for r in rows] == [("ok", LOCAL_MODEL)] * 2


def test_an_explicit_mode_is_kept(llama, demo, settings):
    settings.LLM_STRUCTURED_OUTPUT = "json_object"
    parsed, _ = _call(demo)
    assert parsed.intent == "question"
    [request] = llama.requests  # no chat probes with a mode given
    assert request["response_format"] == {"type": "json_object"}
    assert request["messages"][0]["role"] == "system"


def test_a_server_without_json_modes_gets_the_schema_in_the_prompt(llama, demo):
    def plain(request: dict[str, Any]) -> Reply:
        if request.get("response_format"):
            return Reply(status=400, content="response_format is not supported")
        if request.get("max_tokens") in (1, 8, 24):
            return Reply(content="ok")  # the same count either way: folded
        return Reply(content="Sure! ```json\n" + (canned(request).content or "") + "\n```")

    llama.responder = plain
    parsed, _ = _call(demo)
    assert parsed.intent == "question"
    request = llama.requests[-1]
    assert "response_format" not in request
    assert '"title":"StrategyOutput"' in request["messages"][0]["content"]


def test_a_refused_request_is_permanent_at_once_with_the_servers_words(llama, demo, caplog):
    caplog.set_level(logging.INFO)
    _call(demo)  # probe first, so the scripted reply is the stage call's
    llama.script = [Reply(status=400, content="Unknown parameter: 'reasoning_effort'")]
    calls = len(llama.requests)
    with pytest.raises(LLMPermanentError) as caught:
        _call(demo)
    assert len(llama.requests) == calls + 1  # not retried
    error = caught.value
    assert (error.outcome, error.status_code) == ("rejected", 400)
    assert error.failure_reason() == "llm_rejected: HTTP 400: Unknown parameter: 'reasoning_effort'"
    row = AIInteraction.objects.order_by("id").last()
    assert row is not None
    assert (row.outcome, row.status_code, row.model) == ("rejected", 400, LOCAL_MODEL)
    assert row.server_message == "Unknown parameter: 'reasoning_effort'"
    failed = [r for r in caplog.records if r.getMessage() == "llm call failed"]
    assert [(r.stage, r.outcome, r.status) for r in failed] == [
        ("draft_strategy_step1", "rejected", 400)
    ]


def test_a_5xx_naming_an_unsupported_parameter_is_a_refusal_not_an_outage(llama, demo):
    _call(demo)
    llama.script = [Reply(status=500, content="response_format type 'foo' is not supported")]
    with pytest.raises(LLMPermanentError) as caught:
        _call(demo)
    assert (caught.value.outcome, caught.value.status_code) == ("rejected", 500)


def test_json_schema_forced_on_llama_cpp_is_refused_once_not_retried(llama, demo, settings):
    settings.LLM_STRUCTURED_OUTPUT = "json_schema"
    with pytest.raises(LLMPermanentError) as caught:
        _call(demo)
    assert len(llama.requests) == 1  # the 12 attempts, now one
    assert (caught.value.outcome, caught.value.status_code) == ("rejected", 500)
    said = caught.value.server_message
    assert "Input should be 'text' or 'json_object'" in said
    assert "'input'" not in said
    assert "app.py" not in said  # no traceback


def test_validation_details_are_recorded_without_echoing_the_request(llama, demo):
    _call(demo)
    detail = [
        {
            "type": "missing",
            "loc": ["body", "messages"],
            "msg": "Field required",
            "input": "zebrawalrus",
        }
    ]
    llama.script = [Reply(status=422, raw=json.dumps({"detail": detail}))]
    with pytest.raises(LLMPermanentError) as caught:
        _call(demo)
    assert caught.value.server_message == "messages: Field required"
    assert "zebrawalrus" not in str(AIInteraction.objects.values_list("server_message"))


def test_a_run_refused_by_the_server_fails_once_and_tells_the_operator_why(llama, demo):
    llama.responder = lambda request: (
        Reply(status=404, content="The model `gemma-3-270m` does not exist")
        if request.get("max_tokens", 0) > 100
        else llama_like(request)
    )
    message = inbound(channel_of(demo, "email"), "How much extra is a battery?")
    run_for_message.apply(args=[str(message.pk)])
    run = PipelineRun.objects.get()
    assert run.status == PipelineRun.Status.FAILED
    assert run.error == "llm_rejected: HTTP 404: The model `gemma-3-270m` does not exist"
    assert [r.outcome for r in AIInteraction.objects.filter(run=run)] == ["rejected"]
    assert not Draft.objects.exists()
    notice = Notification.objects.get()
    assert notice.kind == "pipeline_failed"
    assert notice.title.startswith(
        "Drafting failed: the model server refused the request (HTTP 404"
    )
    assert "does not exist" in notice.title
