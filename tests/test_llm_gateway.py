"""The gateway's plumbing: token estimates, model and effort coercion, prompts, telemetry."""

from __future__ import annotations

import pytest

from pipeline.llm import CallContext, complete
from pipeline.llm.catalogue import model_coerce, reasoning_effort_for
from pipeline.llm.tokens import estimate_tokens
from pipeline.models import AIInteraction, Stage
from pipeline.prompts import CURRENT, prompt_render, templates
from pipeline.schemas import MeetingExtractOutput


def test_token_estimates_follow_bpe_habits():
    assert estimate_tokens("") == 0
    assert estimate_tokens("Hello world") == 2
    assert estimate_tokens("Hello, world!") == 4
    assert estimate_tokens("19000") == 2  # digits go in groups of three
    assert estimate_tokens("consultations") == 3
    prose = "A typical 7 kW system is about $19,000 before the 30% federal tax credit."
    assert 17 <= estimate_tokens(prose) <= 24  # o200k gives 20


def test_models_are_coerced_to_known_ones(settings):
    settings.LLM_DEFAULT_MODEL = "gpt-5-mini"
    assert model_coerce("gpt-5.2") == "gpt-5.2"
    assert model_coerce(" gpt-4o ") == "gpt-4o"
    assert model_coerce("gpt-imaginary") == "gpt-5-mini"
    assert model_coerce("") == "gpt-5-mini"
    assert model_coerce(None) == "gpt-5-mini"
    settings.LLM_DEFAULT_MODEL = "qwen2.5-7b-instruct"  # a local server's model is allowed
    assert model_coerce("qwen2.5-7b-instruct") == "qwen2.5-7b-instruct"
    assert model_coerce("llama-unknown") == "qwen2.5-7b-instruct"


def test_reasoning_effort_only_for_models_that_take_it():
    assert reasoning_effort_for("gpt-5.2", "high") == "high"
    assert reasoning_effort_for("o4-mini", "LOW") == "low"
    assert reasoning_effort_for("gpt-5.2", "extreme") is None
    assert reasoning_effort_for("gpt-4o", "high") is None
    assert reasoning_effort_for("qwen2.5-7b-instruct", "high") is None


def test_every_pinned_prompt_exists_and_names_its_version():
    found = templates()
    for key, version in CURRENT.items():
        assert (key, version) in found
    prompt = prompt_render(
        "meeting_extract",
        variables={"lead_timezone": "unknown", "thread": "-", "message": "Thursday at 3pm?"},
        inputs={"message": "Thursday at 3pm?"},
    )
    assert (prompt.key, prompt.version) == ("meeting_extract", "v1")
    assert "Thursday at 3pm?" in prompt.user
    with pytest.raises(KeyError):
        prompt_render("meeting_extract", variables={}, inputs={})


def _extract(context: CallContext):
    prompt = prompt_render(
        "meeting_extract",
        variables={"lead_timezone": "unknown", "thread": "-", "message": "Thursday at 3pm EST?"},
        inputs={"message": "Can we meet Thursday at 3pm EST?"},
    )
    return complete(
        stage=Stage.MEETING_EXTRACT,
        prompt=prompt,
        schema=MeetingExtractOutput,
        model="gpt-5-mini",
        context=context,
    )


@pytest.mark.django_db
def test_an_offline_call_answers_and_records_one_row(tenant):
    parsed, usage = _extract(CallContext(workspace_id=tenant.workspace.pk))
    assert parsed.wants_meeting is True
    assert parsed.timezone == "America/New_York"
    assert parsed.proposed_times[0].day == "thursday"
    assert parsed.proposed_times[0].clock_time == "3pm"
    assert (usage.provider, usage.model, usage.attempts) == ("offline", "offline-rules-v1", 1)
    assert usage.input_tokens > 0
    assert usage.output_tokens > 0
    row = AIInteraction.objects.get()
    assert (row.stage, row.outcome, row.provider, row.model) == (
        "meeting_overseer_extract",
        "ok",
        "offline",
        "offline-rules-v1",
    )
    assert (row.input_tokens, row.output_tokens) == (usage.input_tokens, usage.output_tokens)


@pytest.mark.django_db
def test_with_a_sink_the_row_waits_for_the_caller(tenant):
    sink: list[AIInteraction] = []
    _extract(CallContext(workspace_id=tenant.workspace.pk, sink=sink))
    assert len(sink) == 1
    assert AIInteraction.objects.count() == 0
