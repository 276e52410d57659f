"""The auto-send decision through the real runner and the offline provider: the hard-block
gate before any LLM call, the evaluator, the bounded revision loop and its one claim, the
knobs and kill switches, the booking at inbound time plus the deterministic delay, and what
operators see when a draft goes to review."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from autosend.delivery import scheduled_sends_deliver_due
from autosend.gate import hard_block_check
from autosend.models import AutoSendVerdict, ScheduledSend
from autosend.orchestrator import draft_auto_send_decide
from autosend.scheduling import chosen_delay_seconds
from drafts.models import Draft, Message, Notification
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun, Stage
from pipeline.runner import pipeline_run_for_message
from tests.pipeline_support import channel_of, demo_workspace, dev_rows, inbound
from workspaces.models import WorkspaceSettings

LOOP_STAGES = (Stage.REVISION_SELECTOR, Stage.REVISION_REVISER, Stage.EVALUATION)
PRICING = "Hi, roughly how much would a 7kW system cost?"
# Asked twice over; the draft below answers neither, and the sources answer both.
TWO_QUESTIONS = "Is there a lease option? And what warranty do I get?"
WEAK_TEXT = "Hi Sam,\n\nThanks for asking!\n\nBest regards,\nAcme Solar"


@pytest.fixture
def demo(db: None) -> Any:
    return demo_workspace()


def knobs(demo: Any, **values: Any) -> WorkspaceSettings:
    WorkspaceSettings.objects.filter(workspace=demo.workspace).update(**values)
    return WorkspaceSettings.objects.get(workspace=demo.workspace)


def auto_send_on(demo: Any, **values: Any) -> WorkspaceSettings:
    return knobs(demo, auto_send_enabled=True, revision_enabled=True, **values)


def drafted(demo: Any, text: str, *, kind: str = "email", sent_at: Any = None) -> Draft:
    message = inbound(channel_of(demo, kind), text, sent_at=sent_at)
    run = pipeline_run_for_message(message_id=message.pk)
    assert run is not None
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.COMPLETED
    return Draft.objects.select_related("run", "trigger_message").get(trigger_message=message)


def stage_iterations(draft: Draft, stage: str) -> list[int]:
    return sorted(
        PipelineArtifact.objects.filter(run_id=draft.run_id, stage=stage).values_list(
            "iteration", flat=True
        )
    )


def review_notes(draft: Draft) -> int:
    return Notification.objects.filter(
        draft_id=draft.pk, kind=Notification.Kind.DRAFT_NEEDS_REVIEW
    ).count()


def decide_again(draft: Draft) -> Any:
    """The orchestrator called on its own for a draft the runner made (the workspace's
    knobs as they are now)."""
    draft.refresh_from_db()
    run = PipelineRun.objects.get(pk=draft.run_id)
    ws = WorkspaceSettings.objects.get(workspace_id=draft.workspace_id)
    return draft_auto_send_decide(run=run, draft=draft, ws_settings=ws)


# --- The dev set ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["email", "sms"])
def test_dev_set_blocks_every_block_message_and_schedules_most_safe_ones(demo, kind):
    auto_send_on(demo)
    sent_at = timezone.now() - timedelta(minutes=20)  # due now, not stale
    drafts: dict[str, Draft | None] = {}
    for row in dev_rows():
        message = inbound(channel_of(demo, kind), row["text"], sent_at=sent_at)
        run = pipeline_run_for_message(message_id=message.pk)
        assert run is not None
        run.refresh_from_db()
        assert run.status == PipelineRun.Status.COMPLETED, row["id"]
        drafts[row["id"]] = Draft.objects.filter(trigger_message=message).first()

    report = scheduled_sends_deliver_due()

    safe = [r for r in dev_rows() if r["label"] == "may_autosend"]
    blocked = [r for r in dev_rows() if r["label"] == "block"]
    for row in blocked:
        draft = drafts[row["id"]]
        gate = hard_block_check(text=row["text"])
        assert gate.blocked, row["id"]
        if gate.no_reply:
            assert draft is None, row["id"]
            continue
        assert draft is not None
        assert not ScheduledSend.objects.filter(draft=draft).exists(), row["id"]
        assert not Message.objects.filter(draft=draft, direction="outbound").exists(), row["id"]
        assert (draft.status, draft.auto_send_action) == ("pending", "block"), row["id"]
        assert draft.blocked_reason == gate.category, row["id"]
        assert review_notes(draft) == 1
        assert stage_iterations(draft, Stage.EVALUATION) == [], row["id"]
    scheduled = [r["id"] for r in safe if ScheduledSend.objects.filter(draft=drafts[r["id"]])]
    rate = len(scheduled) / len(safe)
    print(f"\n{kind}: {len(scheduled)}/{len(safe)} may_autosend scheduled ({rate:.0%})")
    assert rate >= 0.8
    assert report.outcomes == {"sent": len(scheduled)}
    for row_id in scheduled:
        draft = drafts[row_id]
        assert draft is not None
        draft.refresh_from_db()
        assert (draft.status, draft.auto_send_action) == ("sent", "send")
        assert Message.objects.get(draft=draft, direction="outbound").sender_kind == "ai"
        assert review_notes(draft) == 0


# --- The gate -------------------------------------------------------------------------------


@pytest.mark.parametrize("auto_send", [False, True])
def test_a_blocked_message_is_drafted_for_a_person_and_never_evaluated(demo, auto_send):
    knobs(demo, auto_send_enabled=auto_send, revision_enabled=auto_send)
    draft = drafted(demo, "This violates the TCPA, expect a lawsuit.")
    assert draft.run is not None
    assert draft.run.context_pack["gate"]["category"] == "legal_threat"
    assert draft.run.context_pack["gate"]["blocked"] is True
    assert (draft.status, draft.auto_send_action) == ("pending", "block")
    assert draft.blocked_reason == "legal_threat"
    assert draft.auto_send_confidence is None
    assert stage_iterations(draft, Stage.EVALUATION) == []
    assert stage_iterations(draft, Stage.FINAL_DRAFT) == []
    assert not ScheduledSend.objects.exists()
    assert review_notes(draft) == 1
    assert draft.text != ""  # a holding reply a person can send


def test_an_auto_reply_gets_no_draft_and_no_llm_call(demo, caplog):
    caplog.set_level(logging.INFO)
    auto_send_on(demo)
    message = inbound(
        channel_of(demo, "email"), "Automatic reply: I am on vacation until zebrawalrus."
    )
    run = pipeline_run_for_message(message_id=message.pk)
    assert run is not None
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.COMPLETED
    assert run.context_pack["gate"]["no_reply"] is True
    assert run.context_pack["gate"]["category"] == "auto_reply"
    assert not Draft.objects.exists()
    assert not PipelineArtifact.objects.exists()
    assert not AIInteraction.objects.exists()
    assert not Notification.objects.exists()
    assert "hard-block gate" in caplog.text
    assert "zebrawalrus" not in caplog.text
    # Delivered again: still nothing.
    assert pipeline_run_for_message(message_id=message.pk).pk == run.pk
    assert not Draft.objects.exists()


# --- Send or review -------------------------------------------------------------------------


def test_a_confident_draft_is_booked_at_inbound_time_plus_the_chosen_delay(demo):
    auto_send_on(demo)
    draft = drafted(demo, PRICING, sent_at=timezone.now() - timedelta(minutes=2))
    send = ScheduledSend.objects.get(draft=draft)
    delay = chosen_delay_seconds(draft.trigger_message_id, 180, 900)
    assert send.run_at == draft.trigger_message.sent_at + timedelta(seconds=delay)
    assert (send.chosen_delay_seconds, send.delay_min_seconds, send.delay_max_seconds) == (
        delay,
        180,
        900,
    )
    assert (send.origin, send.status, send.text) == ("auto", "scheduled", draft.text)
    assert (draft.status, draft.auto_send_action) == ("scheduled", "send")
    assert draft.auto_send_confidence == draft.original_confidence == draft.final_confidence
    assert draft.auto_send_confidence is not None
    assert draft.auto_send_confidence >= 0.85
    assert (draft.revision_attempted_at, draft.revision_applied, draft.revision_iterations) == (
        None,
        False,
        0,
    )
    assert draft.held_reason == ""
    assert review_notes(draft) == 0  # it goes out by itself: nobody is nagged
    final = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.FINAL_DRAFT)
    assert final.payload["action"] == "send"
    assert final.payload["scheduled_send_id"] == str(send.pk)
    assert final.text == draft.text
    assert stage_iterations(draft, Stage.EVALUATION) == [0]
    assert stage_iterations(draft, Stage.REVISION_SELECTOR) == []
    # Asked again (a duplicate call): nothing new happens.
    before = AIInteraction.objects.count()
    assert decide_again(draft) is None
    assert AIInteraction.objects.count() == before
    assert ScheduledSend.objects.count() == 1


def test_a_weak_draft_is_revised_once_and_the_revision_is_sent(demo):
    draft = drafted(demo, TWO_QUESTIONS)  # auto-send off: drafted, not evaluated
    Draft.objects.filter(pk=draft.pk).update(text=WEAK_TEXT, original_text=WEAK_TEXT)
    auto_send_on(demo)

    decision = decide_again(draft)

    assert decision is not None
    draft.refresh_from_db()
    assert (draft.status, draft.auto_send_action) == ("scheduled", "send")
    assert draft.original_text == WEAK_TEXT
    assert "20-year lease" in draft.text
    assert "25-year manufacturer warranty" in draft.text
    assert draft.revision_applied is True
    assert draft.revision_iterations == 1  # the threshold was met: no second iteration
    assert draft.revision_attempted_at is not None
    assert draft.original_confidence is not None
    assert draft.original_confidence <= 0.5
    assert draft.final_confidence is not None
    assert draft.final_confidence >= 0.85
    assert draft.auto_send_confidence == draft.final_confidence
    assert {"Financing", "Warranty"} <= {s["title"] for s in draft.sources}
    assert ScheduledSend.objects.get(draft=draft).text == draft.text
    for stage in LOOP_STAGES:
        assert stage_iterations(draft, stage) == ([0, 1] if stage == Stage.EVALUATION else [1])
    final = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.FINAL_DRAFT)
    assert (final.payload["winning_iteration"], final.text) == (1, draft.text)


def test_a_meeting_time_held_by_the_gate_goes_to_review_unrevised(demo):
    auto_send_on(demo)
    # Sunday: not a day the knowledge states availability for (Saturday morning would send,
    # see tests/test_offline_availability.py).
    draft = drafted(demo, "Sunday morning works for a home visit", kind="sms")
    assert (draft.status, draft.auto_send_action) == ("pending", "review")
    assert "Sunday morning" in draft.held_reason
    assert draft.auto_send_confidence is not None
    assert stage_iterations(draft, Stage.EVALUATION) == [0]
    assert stage_iterations(draft, Stage.REVISION_SELECTOR) == []
    assert draft.revision_attempted_at is None
    assert not ScheduledSend.objects.exists()
    assert review_notes(draft) == 1


def test_an_unsupported_draft_goes_to_review_whatever_its_score(demo):
    draft = drafted(demo, PRICING)
    Draft.objects.filter(pk=draft.pk).update(unsupported=True)
    auto_send_on(demo)
    decision = decide_again(draft)
    assert decision is not None
    draft.refresh_from_db()
    assert (draft.status, draft.auto_send_action) == ("pending", "review")
    assert draft.held_reason == "unsupported claims were removed from the draft"
    assert draft.auto_send_confidence is not None
    assert draft.auto_send_confidence >= 0.85
    assert not ScheduledSend.objects.exists()


def test_a_newer_inbound_message_supersedes_the_draft_instead_of_booking_it(demo):
    draft = drafted(demo, PRICING)
    inbound(
        channel_of(demo, "email"),
        "Also, do you do financing?",
        conversation=draft.conversation,
        sent_at=draft.trigger_message.sent_at + timedelta(seconds=30),
    )
    auto_send_on(demo)
    decision = decide_again(draft)
    assert decision is not None
    assert decision.superseded is True
    draft.refresh_from_db()
    assert draft.status == "superseded"
    assert not ScheduledSend.objects.exists()
    final = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.FINAL_DRAFT)
    assert final.payload["superseded"] is True


def test_a_draft_a_person_already_approved_is_left_to_them(demo):
    draft = drafted(demo, PRICING)  # auto-send off: one shadow evaluation
    Draft.objects.filter(pk=draft.pk).update(status=Draft.Status.REJECTED)
    auto_send_on(demo)
    calls = AIInteraction.objects.filter(run_id=draft.run_id)
    before = calls.count()
    assert decide_again(draft) is None
    assert not ScheduledSend.objects.exists()
    assert calls.count() == before  # nothing evaluated again
    assert AutoSendVerdict.objects.get(draft=draft).shadow is True


# --- Knobs and kill switches ----------------------------------------------------------------


def _shadow_only(draft: Draft) -> AutoSendVerdict:
    """Evaluated once in shadow: nothing revised, booked or sent, one review notification."""
    assert draft.status == "pending"
    assert draft.auto_send_action == "none"  # auto-send did not act on it
    assert stage_iterations(draft, Stage.EVALUATION) == [0]
    assert not PipelineArtifact.objects.filter(
        run_id=draft.run_id,
        stage__in=[Stage.REVISION_SELECTOR, Stage.REVISION_REVISER, Stage.FINAL_DRAFT],
    ).exists()
    assert draft.revision_attempted_at is None
    assert draft.text == draft.original_text
    assert not ScheduledSend.objects.exists()
    assert scheduled_sends_deliver_due().outcomes == {}
    assert not Message.objects.filter(direction="outbound").exists()
    assert review_notes(draft) == 1
    return AutoSendVerdict.objects.get(draft=draft)


def test_auto_send_off_evaluates_in_shadow_and_sends_nothing(demo):
    knobs(demo, auto_send_enabled=False, revision_enabled=True)
    draft = drafted(demo, PRICING, sent_at=timezone.now() - timedelta(minutes=20))
    verdict = _shadow_only(draft)
    assert draft.held_reason == ""
    assert draft.auto_send_confidence == 0.92
    assert (draft.original_confidence, draft.final_confidence) == (0.92, 0.92)
    assert (verdict.shadow, verdict.would_send, verdict.would_send_reason) == (
        True,
        True,
        "confident",
    )
    assert (verdict.confidence, verdict.threshold) == (0.92, 0.85)


def test_in_shadow_a_weak_draft_is_not_revised_and_would_be_held(demo):
    # Live, this draft would be revised (test_a_weak_draft_is_revised_once…); in shadow
    # the operator judges the text that was evaluated, and no revision is paid for.
    knobs(demo, auto_send_enabled=False, revision_enabled=True, auto_send_confidence_threshold=0.99)
    verdict = _shadow_only(drafted(demo, PRICING))
    assert (verdict.would_send, verdict.would_send_reason) == (False, "below_threshold")
    assert (verdict.confidence, verdict.threshold) == (0.92, 0.99)


def test_in_shadow_a_blocked_message_would_be_held_unevaluated(demo):
    draft = drafted(demo, "This violates the TCPA, expect a lawsuit.")
    verdict = AutoSendVerdict.objects.get(draft=draft)
    assert (verdict.would_send, verdict.would_send_reason) == (False, "blocked")
    assert (verdict.gate_category, verdict.confidence, verdict.shadow) == (
        "legal_threat",
        None,
        True,
    )
    assert stage_iterations(draft, Stage.EVALUATION) == []


def test_the_auto_send_kill_switch_evaluates_in_shadow_and_books_nothing(demo, settings):
    settings.AUTO_SEND_DISABLED = True
    auto_send_on(demo, auto_send_confidence_threshold=0.99)
    draft = drafted(demo, PRICING)
    verdict = _shadow_only(draft)
    assert draft.held_reason == "auto-send disabled by the kill switch"
    assert not AIInteraction.objects.filter(
        stage__in=[Stage.REVISION_SELECTOR, Stage.REVISION_REVISER]
    ).exists()
    # The verdict is the one auto-send would take with the switch unset.
    assert (verdict.would_send, verdict.would_send_reason) == (False, "below_threshold")


def test_a_live_decision_replaces_the_shadow_verdict(demo):
    draft = drafted(demo, PRICING)  # auto-send off: a shadow verdict
    assert AutoSendVerdict.objects.get(draft=draft).shadow is True
    auto_send_on(demo)
    decide_again(draft)
    verdict = AutoSendVerdict.objects.get(draft=draft)
    assert (verdict.shadow, verdict.would_send) == (False, True)
    assert ScheduledSend.objects.get(draft=draft).origin == "auto"


def _below_threshold_without_revision(draft: Draft) -> None:
    assert (draft.status, draft.auto_send_action) == ("pending", "review")
    assert draft.held_reason == "below threshold 0.99 (confidence 0.92)"
    assert (draft.original_confidence, draft.final_confidence) == (0.92, 0.92)
    assert draft.auto_send_confidence == 0.92
    assert stage_iterations(draft, Stage.EVALUATION) == [0]
    assert stage_iterations(draft, Stage.REVISION_SELECTOR) == []
    assert stage_iterations(draft, Stage.REVISION_REVISER) == []
    assert draft.revision_attempted_at is None
    assert draft.revision_iterations == 0
    assert not ScheduledSend.objects.exists()
    assert review_notes(draft) == 1


def test_the_revision_kill_switch_keeps_the_evaluator_and_skips_the_loop(demo, settings):
    settings.AUTO_SEND_REVISION_DISABLED = True
    auto_send_on(demo, auto_send_confidence_threshold=0.99)
    _below_threshold_without_revision(drafted(demo, PRICING))


def test_revision_off_for_the_workspace_skips_the_loop(demo):
    knobs(demo, auto_send_enabled=True, revision_enabled=False, auto_send_confidence_threshold=0.99)
    _below_threshold_without_revision(drafted(demo, PRICING))


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_max_iterations_is_exactly_the_number_of_loop_iterations(demo, iterations):
    # 0.92 never reaches 0.99: every allowed iteration runs, and none beats the original
    # (a tie keeps the earlier text).
    auto_send_on(demo, auto_send_confidence_threshold=0.99, revision_max_iterations=iterations)
    draft = drafted(demo, PRICING)
    loop = list(range(1, iterations + 1))
    assert stage_iterations(draft, Stage.REVISION_SELECTOR) == loop
    assert stage_iterations(draft, Stage.REVISION_REVISER) == loop
    assert stage_iterations(draft, Stage.EVALUATION) == [0, *loop]
    for stage in (Stage.REVISION_SELECTOR, Stage.REVISION_REVISER):
        assert AIInteraction.objects.filter(run_id=draft.run_id, stage=stage).count() == iterations
    assert draft.revision_iterations == iterations
    assert draft.revision_applied is False
    assert draft.revision_attempted_at is not None
    assert draft.text == draft.original_text
    assert (draft.status, draft.auto_send_action) == ("pending", "review")
    assert draft.held_reason == "below threshold 0.99 (confidence 0.92)"
    final = PipelineArtifact.objects.get(run_id=draft.run_id, stage=Stage.FINAL_DRAFT)
    assert (final.payload["winning_iteration"], final.payload["revision_iterations"]) == (
        0,
        iterations,
    )
    assert not ScheduledSend.objects.exists()


# --- One revision attempt per draft ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_decisions_for_one_draft_run_one_loop():
    demo = demo_workspace()
    draft = drafted(demo, PRICING)  # auto-send off: drafted, not yet decided
    auto_send_on(demo, auto_send_confidence_threshold=0.99, revision_max_iterations=3)
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def decide() -> None:
        try:
            mine = Draft.objects.get(pk=draft.pk)
            run = PipelineRun.objects.get(pk=mine.run_id)
            ws = WorkspaceSettings.objects.get(workspace_id=mine.workspace_id)
            barrier.wait(timeout=10)
            results.append(draft_auto_send_decide(run=run, draft=mine, ws_settings=ws))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(r is None for r in results) == [False, True]  # one decided, one stood back
    calls = AIInteraction.objects.filter(run_id=draft.run_id)
    assert calls.filter(stage=Stage.REVISION_SELECTOR).count() == 3
    assert calls.filter(stage=Stage.REVISION_REVISER).count() == 3
    assert calls.filter(stage=Stage.EVALUATION, iteration__gte=1).count() == 3
    draft.refresh_from_db()
    assert draft.revision_iterations == 3
    assert draft.auto_send_action == "review"
    assert review_notes(draft) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Does the system keep running during a blackout?",
        "Can the panels handle hail storms?",
        "Is the inverter loud at night?",
    ],
)
def test_a_question_the_sources_do_not_answer_is_never_sent(demo, text):
    """Sharing one word with a source ("system", "panels") is not an answer: the evaluator
    keeps such drafts below the threshold, revision cannot fix them, and they go to review."""
    auto_send_on(demo)
    draft = drafted(demo, text)
    assert draft.status == "pending"
    assert draft.auto_send_action == "review"
    assert not ScheduledSend.objects.filter(draft=draft).exists()
    assert draft.auto_send_confidence is not None
    assert draft.auto_send_confidence < 0.85
