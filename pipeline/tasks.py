"""Celery tasks of the pipeline. Tasks take ids and call one service."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from celery import Task, shared_task
from django.db import transaction

from pipeline import knowledge_refresh, sweeper
from pipeline.llm import LLMTransientError
from pipeline.retention import pipeline_runs_purge_recorded
from pipeline.runner import pipeline_run_fail_for_message, pipeline_run_for_message
from pipeline.runs import STALE_MAX_ATTEMPTS, runs_claim_for_resume

logger = logging.getLogger("pipeline.tasks")

# Transient LLM trouble (timeouts, 429, 5xx) does not fail the task: the runner parks the run
# in its row with a backoff (pipeline.runs.run_park) and `resume_stale_runs` enqueues it when
# due, so neither a broker restart nor a long provider outage loses it.
PURGE_BATCH_SIZE = 500
STALE_BATCH_SIZE = 200


class PipelineTask(Task):
    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """The task gave up for good: mark the run FAILED and tell the operators."""

        message_id = kwargs.get("message_id") if kwargs else None
        if message_id is None and args:
            message_id = args[0]
        reason = exc.outcome if isinstance(exc, LLMTransientError) else type(exc).__name__
        pipeline_run_fail_for_message(message_id=message_id, reason=f"task_gave_up: {reason}")


@shared_task(
    bind=True,
    base=PipelineTask,
    name="pipeline.run_for_message",
    ignore_result=True,
)
def run_for_message(self: Task, message_id: str) -> None:
    """Run the draft pipeline for one inbound message (idempotent: see pipeline.runner)."""

    pipeline_run_for_message(message_id=message_id)


@shared_task(name="pipeline.purge_old_runs", ignore_result=True)
def purge_old_runs() -> None:
    """Delete runs older than DRAFT_PIPELINE_RUN_RETENTION_DAYS, one batch per task; a full
    batch means there may be more, so the task queues itself again."""

    deleted = pipeline_runs_purge_recorded(batch_size=PURGE_BATCH_SIZE)
    if deleted >= PURGE_BATCH_SIZE:
        transaction.on_commit(purge_old_runs.delay)


@shared_task(name="pipeline.refresh_due_knowledge", ignore_result=True)
def refresh_due_knowledge() -> None:
    """Beat, every few minutes: refresh one batch of knowledge documents whose refresh is due
    (see pipeline.knowledge_refresh); a full batch means there may be more, so the task queues
    itself again."""

    size = knowledge_refresh.REFRESH_BATCH_SIZE  # read per run: a deployment may tune it
    batch = knowledge_refresh.knowledge_refresh_due(batch_size=size)
    if batch.claimed >= size:
        transaction.on_commit(refresh_due_knowledge.delay)


@shared_task(name="pipeline.resume_stale_runs", ignore_result=True)
def resume_stale_runs() -> None:
    """Beat, every few seconds: deliver again the message of each RUNNING run no live worker
    holds (a dead worker's lease lapsed, a parked retry is due, the task was lost): the run
    resumes where it stopped. A run that keeps crashing its worker is failed for a person."""

    for run_id, message_id, attempts in runs_claim_for_resume(limit=STALE_BATCH_SIZE):
        if attempts >= STALE_MAX_ATTEMPTS:
            pipeline_run_fail_for_message(message_id=message_id, reason="stuck: too many attempts")
            continue
        logger.info("resuming a stale run", extra={"run_id": str(run_id)})
        transaction.on_commit(partial(run_for_message.delay, str(message_id)))


@shared_task(name="pipeline.sweep_unstarted_messages", ignore_result=True)
def sweep_unstarted_messages(
    after_received_at: str | None = None, after_id: str | None = None
) -> int:
    """Beat, every 10 s: re-publish the pipeline for inbound messages that never started
    (a broker outage at commit time). A full batch queues the next one from where it ended."""
    after = (
        (datetime.fromisoformat(after_received_at), UUID(after_id))
        if after_received_at and after_id
        else None
    )
    result = sweeper.unstarted_messages_requeue(after=after, batch_size=sweeper.SWEEP_BATCH_SIZE)
    if result.next_after is not None:
        received_at, message_id = result.next_after
        sweep_unstarted_messages.delay(received_at.isoformat(), str(message_id))
    return result.enqueued
