"""Running the draft pipeline for one inbound message, idempotently.

    load the message (with its run's status) → get-or-create the run with its lease (or
    claim a lapsed lease; someone else's live lease means another worker has it) and its
    context pack and the hard-block gate's outcome (deterministic, before any LLM call; an
    auto-reply or bounce completes the run here: no draft, no LLM call) → strategy →
    generation → verifier (their artifacts: one INSERT) → meeting extract → meeting gate
    → one transaction: artifacts, telemetry, newer-message check, Draft (pending, with what
    is decided before any LLM call: blocked, auto-send off), Proposals, the review
    notification unless the evaluator decides, run COMPLETED
    → the auto-send decision (autosend/orchestrator.py, reached through the one seam
      pipeline.autosend_port; fails closed), or with auto-send off or the kill switch set
      its shadow verdict (one evaluation, nothing sent)

A completed (or failed, or aborted) run makes a second call a no-op. A run left RUNNING by
a crash resumes: artifacts already written are reused rather than recomputed, and writes
are ON CONFLICT DO NOTHING, so nothing is duplicated. A newer inbound message in the
conversation aborts the run. Transient LLM errors park the run (`pipeline.runs.run_park`)
for a retry with backoff, for hours if need be, while the message is still the newest of
its conversation and no person has answered it; a permanent one fails the run and leaves the
message to a person. Only the lease holder can complete the run: if a stalled worker lost
its lease and another resumed the run, the completion compare-and-swap lets one of them
write the draft.

No database connection is held while a model is called: the gateway returns the thread's
connection to the pool around every call (pipeline.llm.gateway).

The message's statements are few on purpose (at most 16, three commits that write): the
run holds what it read, and each stage group is written in one go.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from drafts.draft_states import draft_transition, drafts_supersede_in_conversation
from drafts.ingest import thread_shared_hold_reason
from drafts.models import Draft, Message, Notification, Proposal
from drafts.notifications import notification_create
from pipeline import stages
from pipeline.artifacts import artifacts_insert
from pipeline.autosend_port import Gate, autosend_port
from pipeline.context import context_pack_build
from pipeline.draft_checks import draft_hold_reason
from pipeline.facts import facts_proposals
from pipeline.llm import LLMPermanentError, LLMTransientError
from pipeline.models import PipelineRun, Stage
from pipeline.prompts import CURRENT
from pipeline.runs import (
    run_for_message,
    run_lease_claim,
    run_lease_keep,
    run_lease_release,
    run_park,
    run_retry_delay,
    run_start,
    run_transition,
)
from pipeline.schemas import (
    GenerationOutput,
    MeetingExtractOutput,
    MeetingGateOutput,
    StrategyOutput,
    VerifierOutput,
)
from pipeline.stages import StageRun
from workspaces.models import WorkspaceSettings

logger = logging.getLogger("pipeline.runner")

RS = PipelineRun.Status
M = TypeVar("M", bound=BaseModel)
Done = dict[tuple[str, int], Any]


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _message_load(message_id: uuid.UUID) -> Any:
    """The inbound message with everything the run reads, and its run's status, in one query."""
    run_status = PipelineRun.objects.filter(
        trigger_message_id=OuterRef("pk"), channel_id=OuterRef("channel_id")
    ).values("status")[:1]
    # A pk lookup finds at most one row: no `.first()`, whose ORDER BY only costs compile
    # time on the hottest query of the run.
    rows = (
        Message.objects.select_related("lead", "channel", "conversation", "workspace__settings")
        .annotate(run_status=Subquery(run_status))
        .filter(pk=message_id, direction=Message.Direction.INBOUND)
        .order_by()[:1]
    )
    try:
        return next(iter(rows), None)
    except ValidationError:
        return None


def pipeline_run_for_message(*, message_id: Any) -> PipelineRun | None:
    """Draft a reply to one inbound message (see the module docstring). Returns the run, or
    None when there is nothing to do (no such inbound message, or another worker has it)."""
    key = _as_uuid(message_id)
    if key is None:
        return None
    message = _message_load(key)
    if message is None:
        return None
    return _run(message)


class _LeaseLost(Exception):
    """Another worker resumed this run after our lease lapsed; it writes the draft."""


def _run(message: Any) -> PipelineRun | None:
    ws_settings = message.workspace.settings
    token = uuid.uuid4()
    done: Done = {}
    created = False
    run: PipelineRun | None = None
    if message.run_status is None:
        pack, newer = context_pack_build(message=message, ws_settings=ws_settings)
        pack["gate"] = autosend_port().gate_check_message(message=message)
        run, created = run_start(message=message, context_pack=pack, lease_token=token)
        if created and newer:
            run_abort(run=run, draft=None)
            return run
    if created:
        assert run is not None
        run_lease_keep(token)
    else:
        run = run if run is not None else run_for_message(message=message)
        if run is None or run.status != RS.RUNNING:
            return run
        if not run_lease_claim(run_id=run.pk, token=token, resumed=True):
            logger.info("pipeline run busy elsewhere", extra={"message_id": str(message.pk)})
            return None
        done = {
            (stage, iteration): payload
            for stage, iteration, payload in run.artifacts.values_list(
                "stage", "iteration", "payload"
            )
        }
        pack = run.context_pack or context_pack_build(message=message, ws_settings=ws_settings)[0]
    try:
        return _run_leased(message, run=run, token=token, pack=pack, done=done)
    finally:
        run_lease_release(run_id=run.pk, token=token)


def _run_leased(
    message: Any, *, run: PipelineRun, token: uuid.UUID, pack: dict[str, Any], done: Done
) -> PipelineRun | None:
    ws_settings = message.workspace.settings
    # A resumed run keeps the gate outcome its first attempt recorded.
    gate = autosend_port().gate_from_record(pack.get("gate"))
    if gate is None:
        pack["gate"] = autosend_port().gate_check_message(message=message)
        gate = autosend_port().gate_from_record(pack["gate"])
    assert gate is not None
    if gate.blocked:
        logger.info(
            "hard-block gate",
            extra={
                "run_id": str(run.pk),
                "message_id": str(message.pk),
                "category": gate.category,
                "no_reply": gate.no_reply,
            },
        )
    if gate.no_reply:
        run_complete_without_draft(run=run)
        return run
    sr = StageRun.for_run(run, ws_settings)
    try:
        draft = _draft_stages(
            sr, message=message, run=run, token=token, pack=pack, done=done, gate=gate
        )
    except _LeaseLost:
        logger.info("pipeline run resumed elsewhere", extra={"run_id": str(run.pk)})
        return None
    except LLMTransientError as exc:
        sr.write()  # the failed calls' telemetry
        run_wait_for_provider(run=run, message=message, token=token, exc=exc)
        return run
    except LLMPermanentError as exc:
        sr.write()
        run_fail(run=run, message=message, reason=exc.failure_reason(), title=exc.operator_title())
        return run
    if draft is not None:
        auto_send_decide(run=run, draft=draft, ws_settings=ws_settings, gate=gate)
    return run


def _reuse[M: BaseModel](done: Done, stage: str, schema: type[M], iteration: int = 0) -> M | None:
    """A stage's output from an artifact an earlier attempt wrote, if it is complete."""
    payload = done.get((stage, iteration))
    if not isinstance(payload, dict):
        return None
    try:
        return schema.model_validate({k: payload[k] for k in schema.model_fields if k in payload})
    except PydanticValidationError:
        return None


def _draft_stages(
    sr: StageRun,
    *,
    message: Any,
    run: PipelineRun,
    token: uuid.UUID,
    pack: dict[str, Any],
    done: Done,
    gate: Gate,
) -> Draft | None:
    plan = _reuse(done, Stage.STRATEGY, StrategyOutput) or stages.strategy_plan(sr, pack=pack)
    generation = _reuse(done, Stage.GENERATION, GenerationOutput) or stages.draft_generate(
        sr, pack=pack, plan=plan
    )
    verified = _reuse(done, Stage.VERIFIER, VerifierOutput) or stages.draft_verify(
        sr, pack=pack, generation=generation
    )
    sr.write_artifacts()

    extract = _reuse(done, Stage.MEETING_EXTRACT, MeetingExtractOutput) or stages.meeting_extract(
        sr, pack=pack
    )
    meeting = _reuse(done, Stage.MEETING_GATE, MeetingGateOutput) or stages.meeting_gate(
        sr, pack=pack, extract=extract, draft_text=verified.text
    )
    # Junk, or a refused verifier rewrite, is the true reason whatever the model planned.
    # A thread id another lead's conversation owns comes first: a reply would land there.
    held_reason = thread_shared_hold_reason(conversation=message.conversation) or draft_hold_reason(
        verified=verified
    )
    if held_reason:
        pass
    elif not plan.should_reply:
        held_reason = "No reply needed: an automatic reply or delivery notice."
    elif meeting.decision == "review":
        held_reason = meeting.reason
    pre = autosend_port().precheck(
        gate=gate, ws_settings=message.workspace.settings, held_reason=held_reason
    )
    artifacts, interactions = sr.take()
    with transaction.atomic():
        artifacts_insert(artifacts=artifacts, interactions=interactions)
        newer = Message.objects.filter(
            conversation_id=message.conversation_id,
            direction=Message.Direction.INBOUND,
            sent_at__gt=message.sent_at,
        ).exists()
        if newer:
            run_abort(run=run, draft=None)
            return None
        # Completed first: the row lock serialises a racing resumer, and only the lease
        # holder gets here; the loser's transaction (and its draft) rolls back.
        if not run_transition(
            run_id=run.pk, from_status=RS.RUNNING, to_status=RS.COMPLETED, holder=token
        ):
            raise _LeaseLost
        # Older open drafts in the conversation are stale now. Only an earlier inbound
        # message can have one: the first message of a conversation skips the UPDATE.
        if pack.get("earlier_inbound", True) and drafts_supersede_in_conversation(
            conversation_id=message.conversation_id, before=message.sent_at
        ):
            autosend_port().sends_cancel_for_conversation(
                conversation_id=message.conversation_id, reason="newer inbound message"
            )
        draft = Draft.objects.create(
            workspace_id=message.workspace_id,
            conversation_id=message.conversation_id,
            trigger_message_id=message.pk,
            run_id=run.pk,
            text=verified.text,
            original_text=verified.text,
            sources=[
                {"id": doc["id"], "title": doc["title"], "url": doc["url"]}
                for doc in stages.sources_for(pack, verified.source_ids)
            ],
            unsupported=verified.unsupported,
            prompt_key="draft_generation",
            prompt_version=CURRENT["draft_generation"],
            held_reason=pre.held_reason[:200],
            auto_send_action=pre.action,
            blocked_reason=pre.blocked_reason,
        )
        proposals = facts_proposals(message=message, lead=message.lead)
        if proposals:
            Proposal.objects.bulk_create(proposals, ignore_conflicts=True)
        if not pre.evaluate:  # else the evaluator's decision notifies, if it is review
            notification_create(
                workspace_id=run.workspace_id,
                kind=Notification.Kind.DRAFT_NEEDS_REVIEW,
                title="A draft reply needs review",
                draft_id=draft.pk,
            )
    run.status = RS.COMPLETED
    return draft


def auto_send_decide(
    *, run: PipelineRun, draft: Draft, ws_settings: WorkspaceSettings, gate: Gate
) -> None:
    """The auto-send decision (autosend/orchestrator.py, through pipeline.autosend_port's
    `draft_ready`): evaluator, revision loop, send or review; in shadow (auto-send off, kill
    switch) the evaluator's verdict only. It is called once the draft is saved pending and
    the run is COMPLETED, in the same task. It fails closed: LLM trouble sends the draft to
    review, and if it crashes the draft simply stays pending in the queue (a redelivered
    task finds the run completed and does nothing)."""
    autosend_port().draft_ready(run=run, draft=draft, ws_settings=ws_settings, gate=gate)


def run_complete_without_draft(*, run: PipelineRun) -> None:
    """An automatic reply or a bounce: nothing to answer, so no draft and no LLM call. The
    gate's outcome stays on the run (`context_pack["gate"]`)."""
    if run_transition(run_id=run.pk, from_status=RS.RUNNING, to_status=RS.COMPLETED):
        run.status = RS.COMPLETED
        logger.info("pipeline run completed without a draft", extra={"run_id": str(run.pk)})


def run_abort(*, run: PipelineRun, draft: Draft | None) -> None:
    """A newer inbound message made this run stale: ABORTED, its draft (if any) superseded."""
    if run_transition(run_id=run.pk, from_status=RS.RUNNING, to_status=RS.ABORTED):
        run.status = RS.ABORTED
        logger.info("pipeline run aborted: newer inbound message", extra={"run_id": str(run.pk)})
    if draft is not None:
        for status in (Draft.Status.PENDING, Draft.Status.SCHEDULED):
            if draft_transition(
                draft_id=draft.pk, from_status=status, to_status=Draft.Status.SUPERSEDED
            ):
                break


FAILED_TITLE = "Drafting failed: this message needs a reply from a person"


def run_fail(*, run: PipelineRun, message: Any, reason: str, title: str = FAILED_TITLE) -> None:
    """FAILED, and a notification: the message is left for a person to answer. `title` says
    why when the cause is known (a model server's refusal, `LLMError.operator_title`)."""
    with transaction.atomic():
        changed = run_transition(
            run_id=run.pk, from_status=RS.RUNNING, to_status=RS.FAILED, error=reason[:200]
        )
        notification_create(
            workspace_id=run.workspace_id,
            kind=Notification.Kind.PIPELINE_FAILED,
            title=title,
            message_id=message.pk,
        )
    if changed:
        run.status = RS.FAILED
        logger.warning("pipeline run failed", extra={"run_id": str(run.pk), "reason": reason[:200]})


def _still_unanswered(message: Any) -> bool:
    """The message is still the newest inbound of its conversation and no person has
    answered it since: a draft for it is still wanted."""
    return (
        not Message.objects.filter(conversation_id=message.conversation_id)
        .filter(
            Q(direction=Message.Direction.INBOUND, sent_at__gt=message.sent_at)
            | Q(direction=Message.Direction.OUTBOUND, sent_at__gt=message.sent_at)
        )
        .exists()
    )


def run_wait_for_provider(
    *, run: PipelineRun, message: Any, token: uuid.UUID, exc: LLMTransientError
) -> None:
    """Transient provider trouble: park the run for a retry with backoff while a draft is
    still wanted and the retry window (`PIPELINE_RETRY_FOR`) is open; else stop."""
    if not _still_unanswered(message):
        if run_transition(run_id=run.pk, from_status=RS.RUNNING, to_status=RS.ABORTED):
            run.status = RS.ABORTED
            logger.info("pipeline run aborted: answered meanwhile", extra={"run_id": str(run.pk)})
        return
    if timezone.now() - run.started_at > settings.PIPELINE_RETRY_FOR:
        run_fail(run=run, message=message, reason=f"provider_unavailable: {exc.outcome}")
        return
    delay = run_retry_delay(retries=run.retries, retry_after=exc.retry_after)
    if run_park(
        run_id=run.pk,
        token=token,
        reason=f"waiting for the model provider: {exc.outcome}",
        delay=delay,
    ):
        logger.warning(
            "pipeline run waiting for the model provider",
            extra={
                "run_id": str(run.pk),
                "outcome": exc.outcome,
                "retry_in_s": round(delay.total_seconds(), 1),
                "retries": run.retries + 1,
            },
        )


def pipeline_run_fail_for_message(*, message_id: Any, reason: str) -> None:
    """The task gave up (retries exhausted, time limit, an unexpected error): fail the
    message's run, creating it first if it never started, so the failure is on record."""
    key = _as_uuid(message_id)
    message = _message_load(key) if key is not None else None
    if message is None:
        return
    run = run_for_message(message=message)
    if run is None:
        run, _ = run_start(message=message, context_pack={})
    if run.status == RS.RUNNING:
        run_fail(run=run, message=message, reason=reason)
