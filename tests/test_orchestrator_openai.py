"""The auto-send decision with the `openai` provider against the local OpenAI-compatible fake
(tests/test_llm_openai.py): a rate limit retried by the gateway still decides; errors that
outlast the retries, refusals, truncated or malformed output send the draft to review with a
`loop_error`, never out; the revision calls use the workspace's model and effort."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from autosend.delivery import scheduled_sends_deliver_due
from autosend.models import ScheduledSend
from drafts.models import Draft, Message, Notification
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun, Stage
from pipeline.runner import pipeline_run_for_message
from tests.pipeline_support import channel_of, demo_workspace, inbound
from tests.test_llm_openai import FakeOpenAI, Reply, canned, fake_openai, schema_name
from workspaces.models import WorkspaceSettings

pytestmark = pytest.mark.django_db

__all__ = ["fake_openai"]  # the fixture, shared with the provider tests

ANSWER = "Hi Sam, a single battery adds about $11,000 to $14,000 before incentives."
QUESTION = "How much extra is a battery?"
CONFIDENT = {
    "confidence": 0.95,
    "reasons": ["Answered from the Batteries source."],
    "weaknesses": [],
}
UNSURE = {
    "confidence": 0.5,
    "reasons": ["The answer could say which batteries."],
    "weaknesses": [{"kind": "unanswered_question", "detail": QUESTION}],
}


def ok(payload: dict[str, Any]) -> Reply:
    return Reply(content=json.dumps(payload))


def model_answers(
    *,
    evaluation: Callable[[], Reply],
    selector: Callable[[], Reply] = lambda: ok({"fixes": []}),
) -> Callable[[dict[str, Any]], Reply]:
    """A model whose drafting stages answer from the Batteries source (the fake's canned
    replies, without their invented discount) and whose auto-send stages answer as told."""

    def respond(request: dict[str, Any]) -> Reply:
        name = schema_name(request)
        if name == "EvaluationOutput":
            return evaluation()
        if name == "RevisionSelectorOutput":
            return selector()
        if name == "RevisionReviserOutput":
            return ok({"text": ANSWER, "applied": [], "source_ids": []})
        reply = canned(request)
        if name == "GenerationOutput":
            generated = json.loads(reply.content or "{}")
            reply = ok({**generated, "text": ANSWER})
        return reply

    return respond


def evaluation_requests(fake: FakeOpenAI, name: str = "EvaluationOutput") -> list[dict[str, Any]]:
    return [r for r in fake.requests if schema_name(r) == name]


@pytest.fixture
def demo():
    provisioned = demo_workspace()
    WorkspaceSettings.objects.filter(workspace=provisioned.workspace).update(
        auto_send_enabled=True, revision_enabled=True
    )
    return provisioned


def run_pipeline(demo: Any) -> Draft:
    message = inbound(channel_of(demo, "email"), QUESTION)
    run = pipeline_run_for_message(message_id=message.pk)
    assert run is not None
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.COMPLETED  # the draft exists whatever happens next
    return Draft.objects.get(trigger_message=message)


def evaluation_outcomes(draft: Draft) -> list[str]:
    return list(
        AIInteraction.objects.filter(run_id=draft.run_id, stage=Stage.EVALUATION)
        .order_by("id")
        .values_list("outcome", flat=True)
    )


def assert_never_sent(draft: Draft) -> None:
    assert not ScheduledSend.objects.filter(draft=draft).exists()
    scheduled_sends_deliver_due()
    assert not Message.objects.filter(direction="outbound").exists()


def test_a_rate_limited_evaluation_is_retried_and_decides(fake_openai, demo):
    replies = iter([Reply(status=429, headers={"retry-after-ms": "1"})])
    fake_openai.responder = model_answers(evaluation=lambda: next(replies, ok(CONFIDENT)))

    draft = run_pipeline(demo)

    assert evaluation_outcomes(draft) == ["rate_limited", "ok"]
    assert (draft.status, draft.auto_send_action, draft.auto_send_confidence) == (
        "scheduled",
        "send",
        0.95,
    )
    assert ScheduledSend.objects.get(draft=draft).text == ANSWER
    assert not PipelineArtifact.objects.filter(run_id=draft.run_id, stage=Stage.LOOP_ERROR)


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (lambda: Reply(status=500, headers={"retry-after-ms": "1"}), "server_error"),
        (lambda: Reply(status=429, headers={"retry-after-ms": "1"}), "rate_limited"),
        (lambda: Reply(delay=1.5), "timeout"),
        (lambda: Reply(content=None, refusal="I can't judge that."), "refusal"),
        (lambda: Reply(content='{"confidence": 0.9', finish_reason="length"), "truncated"),
        (lambda: Reply(content='{"confidence": "very"}'), "malformed"),
    ],
    ids=["server_error", "rate_limited", "timeout", "refusal", "truncated", "malformed"],
)
def test_an_evaluation_that_keeps_failing_sends_the_draft_to_review(
    fake_openai, demo, failure, outcome
):
    fake_openai.responder = model_answers(evaluation=failure)

    draft = run_pipeline(demo)

    assert (draft.status, draft.auto_send_action) == ("pending", "review")
    assert draft.held_reason == f"evaluation error ({outcome})"
    assert draft.auto_send_confidence is None
    error = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.LOOP_ERROR)
    assert error.iteration == 0
    assert (error.payload["stage"], error.payload["outcome"]) == (Stage.EVALUATION, outcome)
    final = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.FINAL_DRAFT)
    assert final.payload["action"] == "review"
    # Bounded: one call, plus one retry where a retry can help (the gateway's, or for a
    # truncated reply the stage's one retry with a larger token budget).
    assert len(evaluation_requests(fake_openai)) == (1 if outcome == "refusal" else 2)
    assert Notification.objects.filter(draft=draft, kind="draft_needs_review").count() == 1
    assert_never_sent(draft)


def test_a_failure_inside_the_revision_loop_fails_closed(fake_openai, demo):
    fake_openai.responder = model_answers(
        evaluation=lambda: ok(UNSURE),
        selector=lambda: Reply(status=500, headers={"retry-after-ms": "1"}),
    )

    draft = run_pipeline(demo)

    assert (draft.status, draft.auto_send_action) == ("pending", "review")
    assert draft.held_reason == "revision error (server_error)"
    assert (draft.original_confidence, draft.revision_iterations) == (0.5, 1)
    assert draft.revision_attempted_at is not None
    assert draft.revision_applied is False
    assert draft.text == draft.original_text == ANSWER
    error = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.LOOP_ERROR)
    assert (error.iteration, error.payload["stage"]) == (1, Stage.REVISION_SELECTOR)
    assert_never_sent(draft)


@pytest.mark.parametrize(
    ("knob_model", "knob_effort", "model", "effort"),
    [
        ("gpt-5.2", "low", "gpt-5.2", "low"),
        ("gpt-imaginary-9", "medium", "gpt-5-mini", "medium"),  # coerced to the default
        ("gpt-4.1", "high", "gpt-4.1", None),  # takes no reasoning effort
    ],
)
def test_the_revision_calls_use_the_workspace_model_and_effort(
    fake_openai, demo, knob_model, knob_effort, model, effort
):
    WorkspaceSettings.objects.filter(workspace=demo.workspace).update(
        revision_model=knob_model, revision_reasoning_effort=knob_effort, revision_max_iterations=1
    )
    fake_openai.responder = model_answers(evaluation=lambda: ok(UNSURE))

    draft = run_pipeline(demo)

    for name in ("RevisionSelectorOutput", "RevisionReviserOutput"):
        [request] = evaluation_requests(fake_openai, name)
        assert request["model"] == model
        assert request.get("reasoning_effort") == effort
    assert draft.revision_iterations == 1
    assert draft.held_reason == "below threshold 0.85 (confidence 0.50)"
