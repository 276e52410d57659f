"""The deterministic draft checks with the weak-model failures issue 16 saw (drafts '', 'D',
'No longer'; a verifier that rewrote a draft into an invented commitment; "twelve dollars"),
and the weak model end to end through the openai provider: nothing it gets wrong is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from autosend.delivery import scheduled_sends_deliver_due
from autosend.models import ScheduledSend
from drafts.models import Draft, Message
from pipeline.availability import availability_in, mention_within
from pipeline.draft_checks import (
    CHECK_REASONS,
    EMPTY,
    FRAGMENT,
    PROMPT_ECHO,
    UNANSWERED,
    UNGROUNDED_CLAIM,
    UNGROUNDED_COMMITMENT,
    VERIFIER_ADDED,
    WRONG_LANGUAGE,
    draft_send_checks,
    verifier_additions,
)
from pipeline.grounding import claim_norms, claims, claims_enforce
from pipeline.language import meeting_read
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun, Stage
from pipeline.runner import pipeline_run_for_message
from tests.pipeline_support import channel_of, demo_workspace, inbound
from tests.test_llm_openai import Reply, canned, fake_openai, schema_name
from workspaces.models import WorkspaceSettings

__all__ = ["fake_openai"]

BATTERY_DOC = {
    "id": "d1",
    "title": "Batteries",
    "body": "We install the Tesla Powerwall 3 and the Enphase IQ Battery 5P. A single battery "
    "adds about $11,000 to $14,000 before incentives.",
    "url": "https://acmesolar.example/batteries",
}
FINANCING_DOC = {
    "id": "d2",
    "title": "Financing",
    "body": "We offer cash purchase, a 12-year solar loan from 5.99% APR with no money down.",
    "url": "",
}
QUESTION = "How much extra is a battery?"
GOOD = "Hi Sam,\n\nA single battery adds about $11,000 to $14,000 before incentives.\n\nBest,\nAcme"


def failed(text: str, message: str = QUESTION, thread: list[str] | None = None) -> list[str]:
    return [
        f.code
        for f in draft_send_checks(
            text=text,
            message=message,
            knowledge=[BATTERY_DOC, FINANCING_DOC],
            workspace_texts=["Acme Solar", ""],
            thread_texts=thread or [message],
        )
    ]


def test_a_grounded_answer_passes_every_check():
    assert failed(GOOD) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [("", EMPTY), ("   ", EMPTY), ("D", FRAGMENT), ("No longer", FRAGMENT), ("Hi Sam,", FRAGMENT)],
)
def test_junk_drafts_fail_as_junk(text, code):
    assert failed(text) == [code]


# What Gemma 3 270M wrote as its draft in the walk-through of `make run LLM=local` (the start
# of draft_generation.v1's instructions, the workspace name filled in).
ECHOED_INSTRUCTIONS = (
    "You write the reply Demo Co sends to a lead. Follow the plan. Every fact, price, number, "
    "date, time and link you write must come from the knowledge documents listed (or from the "
    "lead's own messages); if the documents do not answer something, say a colleague will "
    "follow up rather than guessing."
)


def test_a_draft_that_repeats_the_models_instructions_is_junk():
    assert failed(ECHOED_INSTRUCTIONS, message="What price do you charge?") == [PROMPT_ECHO]


def test_a_reply_that_shares_a_phrase_with_the_instructions_is_not_an_echo():
    text = GOOD.replace("incentives.", "incentives; a colleague will follow up with a quote.")
    assert PROMPT_ECHO not in failed(text)


def test_twelve_dollars_is_a_price_the_knowledge_never_states():
    # "12" stands in the knowledge (a 12-year loan), "twelve dollars" as a price does not.
    assert "$12" in {c.norm for c in claims("It is twelve dollars a month.")}
    assert failed("Hi Sam, a battery adds twelve dollars a month to your bill.") == [
        UNGROUNDED_CLAIM
    ]
    enforced = claims_enforce(
        "A battery adds twelve dollars a month. Ask us anything.",
        allowed=claim_norms([BATTERY_DOC["body"], FINANCING_DOC["body"]]),
        max_chars=None,
    )
    assert enforced.text == "Ask us anything."


def test_a_commitment_the_lead_asked_for_is_not_grounded_by_the_asking():
    message = "SunPower quoted me less, will you beat that in writing?"
    assert UNGROUNDED_COMMITMENT in failed(
        "Hi Sam, yes. We will beat that in writing for the battery.", message=message
    )


def test_a_reply_in_another_language_or_on_another_subject_fails():
    spanish = "Hola Sam, una batería cuesta entre $11,000 y $14,000 para usted."
    assert WRONG_LANGUAGE in failed(spanish)
    assert failed("Hi Sam, we offer cash purchase with no money down.") == [UNANSWERED]


def test_the_verifier_may_soften_but_not_add():
    draft = "Hi Sam, a single battery adds $11,000 to $14,000 before incentives."
    assert verifier_additions(draft, "Hi Sam, a battery adds about $11,000 to $14,000.") == []
    assert verifier_additions(draft, "yes. We will beat that in writing.") == [
        "yes.",
        "We will beat that in writing.",
    ]


def test_a_booking_time_inside_the_stated_hours():
    windows = availability_in(["Consultations run Monday to Saturday between 8am and 6pm."])
    inside = meeting_read("Sounds good, can we do a call Thursday afternoon?").times[0]
    outside = meeting_read("Can we do a call Tuesday evening?").times[0]
    assert mention_within(inside, windows) is True
    assert mention_within(outside, windows) is False


# --- A weak model through the openai provider -------------------------------------------------


def _ok(payload: dict[str, Any]) -> Reply:
    return Reply(content=json.dumps(payload))


def weak_model(*, draft: str, verified: str | None = None, truncate_first: bool = False) -> Any:
    """Drafting stages as the fake's canned model, but writing `draft`, a verifier that
    returns `verified` (reporting nothing unsupported) and an evaluator that is always sure."""
    truncated: list[bool] = [truncate_first]

    def respond(request: dict[str, Any]) -> Reply:
        name = schema_name(request)
        if name == "GenerationOutput":
            if truncated[0]:
                truncated[0] = False
                return Reply(content='{"text": "Hi Sa', finish_reason="length")
            generated = json.loads(canned(request).content or "{}")
            return _ok({**generated, "text": draft})
        if name == "VerifierOutput" and verified is not None:
            return _ok(
                {
                    "text": verified,
                    "source_ids": [],
                    "removed": [],
                    "unsupported": False,
                    "shortened": False,
                }
            )
        if name == "EvaluationOutput":
            return _ok({"confidence": 0.99, "reasons": ["Looks great."], "weaknesses": []})
        if name == "RevisionSelectorOutput":
            return _ok({"fixes": []})
        return canned(request)

    return respond


@pytest.fixture
def demo(db: None) -> Any:
    provisioned = demo_workspace()
    WorkspaceSettings.objects.filter(workspace=provisioned.workspace).update(auto_send_enabled=True)
    return provisioned


def run(demo: Any) -> Draft:
    message = inbound(channel_of(demo, "email"), QUESTION)
    pipeline_run_for_message(message_id=message.pk)
    return Draft.objects.get(trigger_message=message)


def assert_never_sent(draft: Draft) -> None:
    assert not ScheduledSend.objects.filter(draft=draft).exists()
    scheduled_sends_deliver_due()
    assert not Message.objects.filter(direction="outbound").exists()


@pytest.mark.parametrize("text", ["", "D", "No longer"])
def test_a_junk_draft_reaches_the_queue_marked_junk_and_is_never_sent(fake_openai, demo, text):
    fake_openai.responder = weak_model(draft=text)
    draft = run(demo)
    assert draft.status == "pending"
    assert draft.held_reason.startswith("junk draft")
    assert "No reply needed" not in draft.held_reason
    assert_never_sent(draft)


def test_a_draft_echoing_its_instructions_is_held_as_junk_with_that_reason(fake_openai, demo):
    fake_openai.responder = weak_model(draft=ECHOED_INSTRUCTIONS, verified=ECHOED_INSTRUCTIONS)
    draft = run(demo)
    assert draft.status == "pending"
    assert draft.held_reason.startswith(CHECK_REASONS[PROMPT_ECHO])
    assert_never_sent(draft)


def test_a_verifier_rewrite_that_invents_a_commitment_is_refused(fake_openai, demo):
    fake_openai.responder = weak_model(draft=GOOD, verified="yes. We will beat that in writing.")
    draft = run(demo)
    assert draft.text == GOOD.strip()
    assert "beat" not in draft.text
    assert draft.held_reason == CHECK_REASONS[VERIFIER_ADDED]
    verifier = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.VERIFIER)
    assert {r["reason"] for r in verifier.payload["removed"]} == {VERIFIER_ADDED}
    assert_never_sent(draft)


def test_a_confident_but_ungrounded_draft_is_held_with_the_reason(fake_openai, demo):
    # The evaluator says 0.99 and the verifier passes the draft through; its numbers are the
    # knowledge's, but its promise is nobody's. Only the deterministic check stands between
    # that promise and the lead.
    text = (
        "Hi Sam, a single battery adds about $11,000 to $14,000 before incentives. "
        "We guarantee the lowest price in Nevada."
    )
    fake_openai.responder = weak_model(draft=text, verified=text)
    draft = run(demo)
    draft.refresh_from_db()
    assert draft.auto_send_confidence == 0.99
    assert (draft.status, draft.auto_send_action) == ("pending", "review")
    assert draft.held_reason.startswith(CHECK_REASONS[UNGROUNDED_COMMITMENT])
    final = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.FINAL_DRAFT)
    assert final.payload["checks_failed"] == [UNGROUNDED_COMMITMENT]
    assert_never_sent(draft)


def test_a_spelled_out_price_never_reaches_the_draft(fake_openai, demo):
    text = f"{GOOD} A battery is twelve dollars a month with us."
    fake_openai.responder = weak_model(draft=text, verified=text)
    draft = run(demo)
    assert "twelve" not in draft.text
    assert draft.unsupported is True
    assert_never_sent(draft)


def test_a_truncated_reply_is_asked_again_before_the_stage_fails(fake_openai, demo):
    fake_openai.responder = weak_model(draft=GOOD, truncate_first=True)
    draft = run(demo)
    assert PipelineRun.objects.get(pk=draft.run_id).status == PipelineRun.Status.COMPLETED
    outcomes = list(
        AIInteraction.objects.filter(run_id=draft.run_id, stage=Stage.GENERATION)
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["truncated", "ok"]
    assert draft.text == GOOD.strip()
