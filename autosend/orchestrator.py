"""The auto-send decision for one draft (ARCHITECTURE.md step 3).

    hard-block gate (deterministic, before any LLM call; the runner calls it and keeps the
    result in the run's context pack) → auto-send on for the workspace, kill switch off, not
    blocked? → evaluator (iteration 0) → below the threshold, revision on for the workspace
    and not disabled globally? → claim the one revision attempt (conditional UPDATE) → the
    winner runs selector → reviser → evaluation, iterations 1..revision_max_iterations,
    stopping at the threshold; the best iteration wins (ties: the earlier) → `final_draft`
    → confident and the draft passes the deterministic checks (pipeline/draft_checks.py:
    a real reply, in the lead's language, answering the message, every number, price,
    date and commitment grounded in the knowledge): book the ScheduledSend at inbound
    time + the deterministic delay; otherwise review, with the reason in `held_reason`.

What is known before any LLM call (blocked, auto-send off, kill switch) is decided by
`auto_send_precheck` and written with the draft itself, in the run's completion transaction.
Everything after that fails closed: an LLM error (after the gateway's bounded retries), a
refusal, malformed or truncated output, or a bug writes a `loop_error` artifact and sends
the draft to review. Nothing here ever sends: a booked send is delivered by the beat
(autosend/delivery.py), which checks again at send time.

Shadow evaluation (autosend/shadow.py): with auto-send off for the workspace or the kill
switch set, the draft is still evaluated once (iteration 0) and put through the same tests
(held reasons, threshold, deterministic checks); its confidence is kept on the draft and the
verdict ("would have been sent: yes/no, why") as an `AutoSendVerdict(shadow=True)`. Nothing
is booked, no `final_draft` is written and no revision runs: the revision loop rewrites the
draft, and in shadow the operator should judge (and the figures should measure) the text that
was evaluated; it also keeps the shadow cost to one evaluator call per draft. Every decided
draft, live or shadow, blocked or not, gets its verdict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from autosend.gate import GateResult, hard_block_check
from autosend.kill_switches import auto_send_disabled, revision_disabled
from autosend.models import AutoSendVerdict, ScheduledSend
from autosend.scheduling import chosen_delay_seconds, scheduled_send_create
from autosend.shadow import (
    Verdict,
    verdict_blocked,
    verdict_error,
    verdict_held_reason,
    verdict_judge,
    verdict_record,
)
from drafts.draft_states import draft_transition
from drafts.models import Conversation, Draft, Message, Notification
from drafts.notifications import notification_create
from pipeline import stages
from pipeline.artifacts import artifact_build, artifacts_insert, artifacts_write
from pipeline.llm import LLMError
from pipeline.models import PipelineRun, Stage
from pipeline.schemas import EvaluationOutput
from workspaces.models import WorkspaceSettings

logger = logging.getLogger("autosend.orchestrator")

A = Draft.Action
KILL_SWITCH_REASON = "auto-send disabled by the kill switch"
UNSUPPORTED_REASON = "unsupported claims were removed from the draft"
REVIEW_TITLE = "A draft reply needs review"


# --- The gate, kept with the run ------------------------------------------------------------


def gate_record(gate: GateResult) -> dict[str, Any]:
    """The gate's outcome as stored in the context pack: codes and rule names, no text."""
    return {
        "blocked": gate.blocked,
        "category": gate.category,
        "reason": gate.reason,
        "no_reply": gate.no_reply,
        "categories": list(gate.categories),
        "rules": list(gate.rules),
    }


def gate_check_message(*, message: Message) -> dict[str, Any]:
    """Run the hard-block gate on an inbound message (no I/O, no model)."""
    return gate_record(hard_block_check(text=message.body_text, subject=message.subject))


def gate_from_record(record: Any) -> GateResult | None:
    if not isinstance(record, dict):
        return None
    return GateResult(
        blocked=bool(record.get("blocked")),
        category=str(record.get("category") or ""),
        reason=str(record.get("reason") or ""),
        no_reply=bool(record.get("no_reply")),
        categories=tuple(record.get("categories") or ()),
        rules=tuple(record.get("rules") or ()),
    )


def gate_of_run(*, run: PipelineRun) -> GateResult:
    """The gate outcome the run recorded; recomputed from the trigger message only for a run
    that started before the gate was recorded."""
    gate = gate_from_record((run.context_pack or {}).get("gate"))
    if gate is not None:
        return gate
    message = Message.objects.only("body_text", "subject").get(pk=run.trigger_message_id)
    return hard_block_check(text=message.body_text, subject=message.subject)


# --- Before any LLM call --------------------------------------------------------------------


@dataclass(frozen=True)
class Precheck:
    """What the draft is created with. `evaluate`: the evaluator decides (and the review
    notification waits for its decision); otherwise the decision is already final."""

    action: str
    blocked_reason: str = ""
    held_reason: str = ""
    evaluate: bool = False


def auto_send_precheck(
    *, gate: GateResult, ws_settings: WorkspaceSettings, held_reason: str = ""
) -> Precheck:
    """Blocked messages are recorded as such whatever the auto-send setting (operators see
    "blocked: legal threat"); with auto-send off for the workspace or the kill switch set,
    nothing is evaluated (`none`)."""
    if gate.blocked:
        return Precheck(action=A.BLOCK, blocked_reason=gate.category, held_reason=held_reason)
    if not ws_settings.auto_send_enabled:
        return Precheck(action=A.NONE, held_reason=held_reason)
    if auto_send_disabled():
        return Precheck(action=A.NONE, held_reason=held_reason or KILL_SWITCH_REASON)
    return Precheck(action=A.NONE, held_reason=held_reason, evaluate=True)


# --- The revision loop ----------------------------------------------------------------------


def revision_claim(*, draft_id: Any) -> bool:
    """Take the draft's one revision attempt. Exactly one caller ever gets True."""
    return (
        Draft.objects.filter(pk=draft_id, revision_attempted_at__isnull=True).update(
            revision_attempted_at=timezone.now()
        )
        == 1
    )


@dataclass(frozen=True)
class Candidate:
    iteration: int
    text: str
    confidence: float
    source_ids: tuple[str, ...] = ()


@dataclass
class LoopResult:
    best: Candidate
    iterations: int = 0
    error: str = ""


class _StageFailed(Exception):
    def __init__(self, stage: str, iteration: int, cause: Exception) -> None:
        super().__init__(stage)
        self.stage = stage
        self.iteration = iteration
        self.cause = cause

    @property
    def outcome(self) -> str:
        return self.cause.outcome if isinstance(self.cause, LLMError) else "error"


def _loop_error_write(*, run: PipelineRun, failure: _StageFailed) -> None:
    """The failure on record (ids, codes and numbers: never prompt or reply text)."""
    cause = failure.cause
    artifacts_write(
        artifacts=[
            artifact_build(
                run_id=run.pk,
                stage=Stage.LOOP_ERROR,
                iteration=failure.iteration,
                payload={
                    "stage": failure.stage,
                    "iteration": failure.iteration,
                    "outcome": failure.outcome,
                    "error": type(cause).__name__,
                    "transient": bool(getattr(cause, "transient", False)),
                    "request_id": str(getattr(cause, "request_id", "") or ""),
                },
            )
        ]
    )
    logger.warning(
        "auto-send: loop error, the draft goes to review",
        extra={
            "run_id": str(run.pk),
            "stage": failure.stage,
            "iteration": failure.iteration,
            "outcome": failure.outcome,
            "error": type(cause).__name__,
        },
    )


def _evaluate(*, run: PipelineRun, pack: dict[str, Any], text: str, iteration: int) -> Any:
    try:
        return stages.evaluate_draft(
            run=run, draft_text=text, context_pack=pack, iteration=iteration
        )
    except Exception as exc:
        raise _StageFailed(Stage.EVALUATION, iteration, exc) from exc


def _revision_loop(
    *,
    run: PipelineRun,
    pack: dict[str, Any],
    first: Candidate,
    evaluation: EvaluationOutput,
    threshold: float,
    max_iterations: int,
) -> LoopResult:
    """selector → reviser → evaluation per iteration, each revising the previous one,
    until the threshold is met or the iterations run out. The best candidate wins; a tie
    keeps the earlier one."""
    result = LoopResult(best=first)
    text = first.text
    for iteration in range(1, max_iterations + 1):
        result.iterations = iteration
        stage = Stage.REVISION_SELECTOR
        try:
            selection = stages.select_revisions(
                run=run,
                draft_text=text,
                context_pack=pack,
                evaluation=evaluation,
                iteration=iteration,
            )
            stage = Stage.REVISION_REVISER
            revised = stages.revise_draft(
                run=run,
                draft_text=text,
                context_pack=pack,
                selection=selection,
                iteration=iteration,
            )
        except Exception as exc:
            raise _StageFailed(stage, iteration, exc) from exc
        evaluation = _evaluate(run=run, pack=pack, text=revised.text, iteration=iteration)
        text = revised.text
        if evaluation.confidence > result.best.confidence:
            result.best = Candidate(
                iteration=iteration,
                text=text,
                confidence=evaluation.confidence,
                source_ids=tuple(revised.source_ids),
            )
        if evaluation.confidence >= threshold:
            break
    return result


# --- The decision ---------------------------------------------------------------------------


@dataclass
class Decision:
    """What the orchestrator decided for a draft (also what the tests read)."""

    action: str
    held_reason: str = ""
    confidence: float | None = None
    original_confidence: float | None = None
    revision_applied: bool = False
    revision_iterations: int = 0
    winning_iteration: int = 0
    scheduled_send: ScheduledSend | None = None
    superseded: bool = False
    threshold: float | None = None
    checks_failed: list[str] = field(default_factory=list)
    shadow: bool = False
    verdict: Verdict | None = None


def draft_auto_send_decide(
    *,
    run: PipelineRun,
    draft: Draft,
    ws_settings: WorkspaceSettings,
    gate: GateResult | None = None,
) -> Decision | None:
    """Evaluate, maybe revise, then book the send or send the draft to review.

    With auto-send off or the kill switch set, the shadow verdict only (`_shadow_decide`:
    one evaluation, nothing booked); a blocked draft gets its `blocked` verdict, unevaluated.
    Returns None when there is nothing to decide: the draft is blocked, no longer pending or
    was decided already, or another worker holds its revision attempt.
    """
    gate = gate if gate is not None else gate_of_run(run=run)
    pre = auto_send_precheck(gate=gate, ws_settings=ws_settings, held_reason=draft.held_reason)
    threshold = float(ws_settings.auto_send_confidence_threshold)
    if draft.status != Draft.Status.PENDING:
        return None
    if pre.action == A.BLOCK:
        verdict_record(
            draft=draft,
            verdict=verdict_blocked(category=gate.category, threshold=threshold),
            shadow=not _live(ws_settings),
        )
        return None
    if draft.auto_send_action != A.NONE:
        return None
    pack: dict[str, Any] = run.context_pack or {}
    if not pre.evaluate:
        return _shadow_decide(
            run=run, draft=draft, pack=pack, threshold=threshold, ws_settings=ws_settings
        )
    original_text = draft.text

    try:
        evaluation = _evaluate(run=run, pack=pack, text=original_text, iteration=0)
    except _StageFailed as failure:
        _loop_error_write(run=run, failure=failure)
        return _review(
            run=run,
            draft=draft,
            decision=Decision(
                action=A.REVIEW,
                held_reason=f"evaluation error ({failure.outcome})",
                threshold=threshold,
                verdict=verdict_error(threshold),
            ),
            text=original_text,
            pack=pack,
        )
    first = Candidate(iteration=0, text=original_text, confidence=evaluation.confidence)
    decision = Decision(
        action=A.REVIEW,
        confidence=first.confidence,
        original_confidence=first.confidence,
        threshold=threshold,
    )
    # A meeting the gate held, or claims the verifier removed: a person reads it whatever
    # the score, so no revision is spent on it.
    hold = _hold_of(draft)
    best = first
    if not hold and first.confidence < threshold and _revision_on(ws_settings):
        if not revision_claim(draft_id=draft.pk):
            logger.info(
                "auto-send: revision already claimed elsewhere",
                extra={"draft_id": str(draft.pk), "run_id": str(run.pk)},
            )
            return None
        try:
            loop = _revision_loop(
                run=run,
                pack=pack,
                first=first,
                evaluation=evaluation,
                threshold=threshold,
                max_iterations=int(ws_settings.revision_max_iterations),
            )
        except _StageFailed as failure:
            _loop_error_write(run=run, failure=failure)
            decision.revision_iterations = failure.iteration
            decision.held_reason = f"revision error ({failure.outcome})"
            decision.verdict = Verdict(
                would_send=False,
                reason=AutoSendVerdict.Reason.HELD,
                threshold=threshold,
                confidence=first.confidence,
                detail=decision.held_reason,
            )
            return _review(run=run, draft=draft, decision=decision, text=original_text, pack=pack)
        best = loop.best
        decision.revision_iterations = loop.iterations
        decision.revision_applied = best.iteration > 0
        decision.winning_iteration = best.iteration
        decision.confidence = best.confidence

    verdict, failures = verdict_judge(
        pack=pack, hold=hold, confidence=best.confidence, threshold=threshold, text=best.text
    )
    decision.verdict = verdict
    decision.checks_failed = [failure.code for failure in failures]
    if verdict.would_send:
        decision.action = A.SEND
        return _book(run=run, draft=draft, decision=decision, best=best, pack=pack, ws=ws_settings)
    decision.held_reason = verdict_held_reason(verdict)
    return _review(run=run, draft=draft, decision=decision, text=best.text, pack=pack, best=best)


def _live(ws_settings: WorkspaceSettings) -> bool:
    """Auto-send may act: on for the workspace and the kill switch unset."""
    return bool(ws_settings.auto_send_enabled) and not auto_send_disabled()


def _revision_on(ws_settings: WorkspaceSettings) -> bool:
    return bool(ws_settings.revision_enabled) and not revision_disabled()


def _hold_of(draft: Draft, *, ignore: str = "") -> str:
    """Why a person must read the draft whatever its score ("" when nothing holds it).
    `ignore`: a held reason that does not count (in shadow, the kill switch's own)."""
    held = "" if draft.held_reason == ignore else draft.held_reason
    return held or (UNSUPPORTED_REASON if draft.unsupported else "")


def _shadow_decide(
    *,
    run: PipelineRun,
    draft: Draft,
    pack: dict[str, Any],
    threshold: float,
    ws_settings: WorkspaceSettings,
) -> Decision:
    """Auto-send may not act (off, or the kill switch): evaluate once, judge as the live
    decision would, keep the confidence on the draft and the verdict; book nothing, notify
    nobody (the review notification went out with the draft), revise nothing."""
    sr = stages.StageRun.for_run(run, ws_settings)
    try:
        evaluation = stages.draft_evaluate(sr, pack=pack, draft_text=draft.text, iteration=0)
    except Exception as exc:
        sr.write()  # the failed call's telemetry
        _loop_error_write(run=run, failure=_StageFailed(Stage.EVALUATION, 0, exc))
        verdict = verdict_error(threshold)
    else:
        verdict, _ = verdict_judge(
            pack=pack,
            hold=_hold_of(draft, ignore=KILL_SWITCH_REASON),
            confidence=evaluation.confidence,
            threshold=threshold,
            text=draft.text,
        )
    # One transaction: the evaluation's artifact and telemetry, the figures, the verdict.
    artifacts, interactions = sr.take()
    with transaction.atomic():
        artifacts_insert(artifacts=artifacts, interactions=interactions)
        if verdict.confidence is not None:
            Draft.objects.filter(pk=draft.pk, auto_send_action=A.NONE).update(
                auto_send_confidence=verdict.confidence,
                original_confidence=verdict.confidence,
                final_confidence=verdict.confidence,
            )
        verdict_record(draft=draft, verdict=verdict, shadow=True)
    logger.info(
        "auto-send: shadow verdict",
        extra={
            "run_id": str(run.pk),
            "draft_id": str(draft.pk),
            "would_send": verdict.would_send,
            "reason": verdict.reason,
            "confidence": verdict.confidence,
        },
    )
    return Decision(
        action=A.NONE,
        confidence=verdict.confidence,
        original_confidence=verdict.confidence,
        threshold=threshold,
        shadow=True,
        verdict=verdict,
    )


def _sources_with(draft: Draft, pack: dict[str, Any], best: Candidate | None) -> list[Any]:
    """The draft's sources plus those a winning revision added."""
    sources = list(draft.sources or [])
    if best is None or best.iteration == 0:
        return sources
    known = {str(s.get("id")) for s in sources if isinstance(s, dict)}
    for doc in stages.sources_for(pack, list(best.source_ids)):
        if str(doc["id"]) not in known:
            sources.append({"id": doc["id"], "title": doc["title"], "url": doc["url"]})
    return sources


def _fields(
    *, draft: Draft, decision: Decision, text: str, pack: dict[str, Any], best: Candidate | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "auto_send_action": decision.action,
        "auto_send_confidence": decision.confidence,
        "original_confidence": decision.original_confidence,
        "final_confidence": decision.confidence,
        "revision_applied": decision.revision_applied,
        "revision_iterations": decision.revision_iterations,
        "held_reason": decision.held_reason[:200],
        "updated_at": timezone.now(),
    }
    if decision.revision_applied:
        fields["text"] = text
        fields["sources"] = _sources_with(draft, pack, best)
    return fields


def _final_draft(*, run: PipelineRun, decision: Decision, text: str) -> None:
    payload: dict[str, Any] = {
        "action": decision.action,
        "held_reason": decision.held_reason,
        "confidence": decision.confidence,
        "threshold": decision.threshold,
        "original_confidence": decision.original_confidence,
        "final_confidence": decision.confidence,
        "revision_applied": decision.revision_applied,
        "revision_iterations": decision.revision_iterations,
        "winning_iteration": decision.winning_iteration,
        "superseded": decision.superseded,
        "checks_failed": decision.checks_failed,
    }
    send = decision.scheduled_send
    if send is not None:
        payload |= {
            "scheduled_send_id": str(send.pk),
            "run_at": send.run_at.isoformat(),
            "chosen_delay_seconds": send.chosen_delay_seconds,
        }
    artifacts_insert(
        artifacts=[
            artifact_build(run_id=run.pk, stage=Stage.FINAL_DRAFT, payload=payload, text=text)
        ]
    )


def _log(run: PipelineRun, draft: Draft, decision: Decision) -> None:
    logger.info(
        "auto-send: decided",
        extra={
            "run_id": str(run.pk),
            "draft_id": str(draft.pk),
            "action": decision.action,
            "confidence": decision.confidence,
            "original_confidence": decision.original_confidence,
            "revision_iterations": decision.revision_iterations,
            "revision_applied": decision.revision_applied,
            "superseded": decision.superseded,
        },
    )


def _review(
    *,
    run: PipelineRun,
    draft: Draft,
    decision: Decision,
    text: str,
    pack: dict[str, Any],
    best: Candidate | None = None,
) -> Decision:
    """Review: the figures, the reason and (when a revision won) its text, with the review
    notification, in one transaction. A draft a person already acted on keeps their
    outcome; only the figures are recorded."""
    decision.action = A.REVIEW
    fields = _fields(draft=draft, decision=decision, text=text, pack=pack, best=best)
    with transaction.atomic():
        if Draft.objects.filter(pk=draft.pk, status=Draft.Status.PENDING).update(**fields):
            notification_create(
                workspace_id=draft.workspace_id,
                kind=Notification.Kind.DRAFT_NEEDS_REVIEW,
                title=REVIEW_TITLE,
                draft_id=draft.pk,
            )
        else:
            _figures_only(draft=draft, fields=fields)
        _final_draft(run=run, decision=decision, text=text)
        if decision.verdict is not None:
            verdict_record(draft=draft, verdict=decision.verdict, shadow=False)
    _log(run, draft, decision)
    return decision


def _figures_only(*, draft: Draft, fields: dict[str, Any]) -> None:
    keep = ("auto_send_confidence", "original_confidence", "final_confidence")
    Draft.objects.filter(pk=draft.pk).update(
        revision_iterations=fields["revision_iterations"],
        **{name: fields[name] for name in keep},
    )


def _book(
    *,
    run: PipelineRun,
    draft: Draft,
    decision: Decision,
    best: Candidate,
    pack: dict[str, Any],
    ws: WorkspaceSettings,
) -> Decision:
    """Confident: book the send at the inbound message's time plus its deterministic delay.

    The conversation row is locked first (ingest locks it too when it adds a message), so
    the check for a newer inbound message and the booking cannot interleave with one being
    stored: a newer message supersedes the draft instead, and it is never sent."""
    trigger = Message.objects.only("id", "sent_at").get(pk=draft.trigger_message_id)
    delay_min, delay_max = ws.auto_send_delay_min_seconds, ws.auto_send_delay_max_seconds
    delay = chosen_delay_seconds(trigger.pk, delay_min, delay_max)
    with transaction.atomic():
        list(Conversation.objects.select_for_update().filter(pk=draft.conversation_id).values("pk"))
        newer = (
            Message.objects.filter(
                conversation_id=draft.conversation_id,
                direction=Message.Direction.INBOUND,
                sent_at__gt=trigger.sent_at,
            )
            .exclude(pk=trigger.pk)
            .exists()
        )
        send = None
        if newer:
            draft_transition(
                draft_id=draft.pk,
                from_status=Draft.Status.PENDING,
                to_status=Draft.Status.SUPERSEDED,
            )
            decision.action = A.REVIEW
            decision.superseded = True
            decision.held_reason = "superseded by a newer inbound message"
        else:
            send = scheduled_send_create(
                draft=draft,
                origin=ScheduledSend.Origin.AUTO,
                run_at=trigger.sent_at + timedelta(seconds=delay),
                text=best.text,
                chosen_delay=delay,
                delay_min=delay_min,
                delay_max=delay_max,
            )
            if send is None:  # a person approved or rejected it meanwhile: theirs stands
                decision.action = A.REVIEW
                decision.held_reason = "a person acted on the draft first"
        decision.scheduled_send = send
        fields = _fields(draft=draft, decision=decision, text=best.text, pack=pack, best=best)
        if send is not None:
            Draft.objects.filter(pk=draft.pk).update(**fields)
        else:
            _figures_only(draft=draft, fields=fields)
        _final_draft(run=run, decision=decision, text=best.text)
        if decision.verdict is not None:
            verdict_record(draft=draft, verdict=decision.verdict, shadow=False)
    _log(run, draft, decision)
    return decision
