"""The offline evaluator, revision selector and reviser, called on their own as auto-send
will call them: conservative confidence, fixes from the sources, artifacts per iteration."""

from __future__ import annotations

import pytest

from drafts.models import Draft
from pipeline.models import PipelineArtifact, Stage
from pipeline.runner import pipeline_run_for_message
from pipeline.stages import evaluate_draft, revise_draft, select_revisions
from tests.pipeline_support import channel_of, demo_workspace, inbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return demo_workspace()


def _drafted(demo, kind: str, text: str):
    message = inbound(channel_of(demo, kind), text)
    run = pipeline_run_for_message(message_id=message.pk)
    run.refresh_from_db()
    return run, Draft.objects.get(trigger_message=message)


def test_a_grounded_answer_scores_high_and_is_recorded(demo):
    run, draft = _drafted(demo, "email", "What warranty comes with the panels?")
    result = evaluate_draft(run=run, draft_text=draft.text, context_pack=run.context_pack)
    assert result.confidence >= 0.85
    assert result.weaknesses == []
    artifact = PipelineArtifact.objects.get(run=run, stage=Stage.EVALUATION, iteration=0)
    assert artifact.payload["confidence"] == result.confidence
    assert artifact.prompt_key == "auto_send_evaluation"


def test_an_invented_price_scores_low(demo):
    run, draft = _drafted(demo, "email", "How much extra is a battery?")
    text = draft.text.replace("Best regards", "We can do it for $9,000 this week.\n\nBest regards")
    result = evaluate_draft(run=run, draft_text=text, context_pack=run.context_pack)
    assert result.confidence <= 0.3
    assert [w.kind for w in result.weaknesses] == ["unsupported_claim"]


@pytest.mark.parametrize(
    "text",
    [
        "Please take me off your list.",
        "My lawyer will be in touch about these texts.",
        "Are you a bot? I want to speak to a person.",
    ],
)
def test_messages_that_need_a_person_never_score_high_and_are_not_revised(demo, text):
    run, draft = _drafted(demo, "sms", text)
    result = evaluate_draft(run=run, draft_text=draft.text, context_pack=run.context_pack)
    assert result.confidence <= 0.1
    selection = select_revisions(
        run=run,
        draft_text=draft.text,
        context_pack=run.context_pack,
        evaluation=result,
        iteration=1,
    )
    assert selection.fixes == []


def test_a_missing_answer_is_added_from_the_sources_and_rescored(demo):
    run, _draft = _drafted(demo, "email", "Is there a lease option? And what warranty do I get?")
    weak_text = "Hi Sam,\n\nThanks for asking!\n\nBest regards,\nAcme Solar"
    first = evaluate_draft(run=run, draft_text=weak_text, context_pack=run.context_pack)
    assert first.confidence <= 0.5
    assert {w.kind for w in first.weaknesses} >= {"unanswered_question"}
    selection = select_revisions(
        run=run,
        draft_text=weak_text,
        context_pack=run.context_pack,
        evaluation=first,
        iteration=1,
    )
    assert [f.kind for f in selection.fixes] == ["add_answer", "add_answer"]
    revised = revise_draft(
        run=run,
        draft_text=weak_text,
        context_pack=run.context_pack,
        selection=selection,
        iteration=1,
    )
    assert "20-year lease" in revised.text
    assert "25-year manufacturer warranty" in revised.text
    assert revised.text.endswith("Best regards,\nAcme Solar")
    second = evaluate_draft(
        run=run, draft_text=revised.text, context_pack=run.context_pack, iteration=1
    )
    assert second.confidence >= 0.85
    stages = set(
        PipelineArtifact.objects.filter(run=run, iteration=1).values_list("stage", flat=True)
    )
    assert stages == {Stage.EVALUATION, Stage.REVISION_SELECTOR, Stage.REVISION_REVISER}


def test_an_unsupported_promise_is_removed(demo):
    run, draft = _drafted(demo, "email", "How much extra is a battery?")
    text = draft.text.replace("Best regards", "I guarantee we will beat any quote.\n\nBest regards")
    result = evaluate_draft(run=run, draft_text=text, context_pack=run.context_pack)
    selection = select_revisions(
        run=run, draft_text=text, context_pack=run.context_pack, evaluation=result, iteration=1
    )
    assert [f.kind for f in selection.fixes] == ["remove_sentence"]
    revised = revise_draft(
        run=run, draft_text=text, context_pack=run.context_pack, selection=selection, iteration=1
    )
    assert "guarantee" not in revised.text
    assert "$11,000 to $14,000" in revised.text


def test_an_sms_too_long_is_shortened(demo):
    run, draft = _drafted(demo, "sms", "What warranty comes with the panels?")
    long_text = draft.text + " " + " ".join(["Panels carry a 25-year manufacturer warranty."] * 8)
    result = evaluate_draft(run=run, draft_text=long_text, context_pack=run.context_pack)
    assert "too_long" in [w.kind for w in result.weaknesses]
    selection = select_revisions(
        run=run, draft_text=long_text, context_pack=run.context_pack, evaluation=result, iteration=2
    )
    revised = revise_draft(
        run=run,
        draft_text=long_text,
        context_pack=run.context_pack,
        selection=selection,
        iteration=2,
    )
    assert len(revised.text) <= 320
    assert revised.text.startswith("Hi Sam!")


def test_evaluating_the_same_iteration_again_keeps_one_artifact(demo):
    run, draft = _drafted(demo, "email", "Is there a lease option?")
    evaluate_draft(run=run, draft_text=draft.text, context_pack=run.context_pack)
    evaluate_draft(run=run, draft_text=draft.text, context_pack=run.context_pack)
    assert PipelineArtifact.objects.filter(run=run, stage=Stage.EVALUATION).count() == 1


@pytest.mark.parametrize(
    ("text", "high"),
    [
        ("Do you install in Reno Nevada?", True),
        ("Do you serve Albuquerque?", False),
        ("I live in Los Angeles, can you install there?", False),
    ],
)
def test_a_place_the_answer_never_names_keeps_confidence_down(demo, text, high):
    run, draft = _drafted(demo, "email", text)
    result = evaluate_draft(run=run, draft_text=draft.text, context_pack=run.context_pack)
    assert (result.confidence >= 0.85) is high, (result.confidence, draft.text)
