"""Tracked background jobs: the JobRun state machine (one table of allowed moves, one
compare-and-swap function) and `job_run`, the one way every job records itself.

    with job_run(type=JobType.TIMING_BACKFILL) as job:
        result = response_timing_backfill()
        job.set(rows_processed=result.messages, batches=result.batches)

The row is created QUEUED and moved to RUNNING on entry; on exit it is SUCCEEDED, or FAILED
with the error when the block raised (the exception goes on) or called `job.fail(...)`.
Use it outside a transaction that the job's failure would roll back: the row's writes are
ordinary statements, so a surrounding `atomic()` that rolls back takes the record with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError
from django.db.models import QuerySet
from django.utils import timezone

from workspaces.models import JobRun, JobType, Workspace

logger = logging.getLogger("workspaces.jobs")

S = JobRun.Status

# queued → running when the job starts; queued → failed when it cannot start;
# running → succeeded | failed when it ends. Succeeded and failed are final.
ALLOWED: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.RUNNING, S.FAILED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
}

ERROR_MAX_CHARS = 1000


class IllegalJobTransition(ValueError):
    pass


def job_run_transition(*, job_run_id: Any, from_status: str, to_status: str, **fields: Any) -> bool:
    """Move a job run from `from_status` to `to_status` if it is still there. True if this
    call made the move; False if the run had already moved."""
    if to_status not in ALLOWED[from_status]:
        raise IllegalJobTransition(f"a job run cannot go from {from_status} to {to_status}")
    return (
        JobRun.objects.filter(pk=job_run_id, status=from_status).update(status=to_status, **fields)
        == 1
    )


def job_run_create(*, type: str, workspace: Workspace | None = None) -> JobRun:
    if type not in JobType.values:
        raise ValueError(f"unknown job type {type!r}")
    return JobRun.objects.create(type=type, workspace=workspace)


def _error_text(exc: BaseException) -> str:
    """The exception's class and message, capped. Jobs raise errors that name ids and
    counts, never message text."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_MAX_CHARS]


class JobRecorder:
    """What a running job reports: counts (`add`, `set`) and, optionally, that it failed
    without raising (`fail`), e.g. a batch where some items could not be done."""

    def __init__(self, run: JobRun) -> None:
        self.run = run
        self.metrics: dict[str, int | float] = {"rows_processed": 0}
        self.failure: str | None = None

    def add(self, name: str, amount: int = 1) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + amount

    def set(self, **metrics: int | float) -> None:
        self.metrics.update(metrics)

    def fail(self, error: str) -> None:
        self.failure = error[:ERROR_MAX_CHARS]


@contextmanager
def job_run(
    *,
    type: str,
    workspace: Workspace | None = None,
) -> Iterator[JobRecorder]:
    """Record one run of a job around the block: see the module docstring."""
    run = job_run_create(type=type, workspace=workspace)
    started = timezone.now()
    job_run_transition(
        job_run_id=run.pk, from_status=S.QUEUED, to_status=S.RUNNING, started_at=started
    )
    run.status, run.started_at = S.RUNNING, started
    recorder = JobRecorder(run)
    clock = time.monotonic()
    try:
        yield recorder
    except BaseException as exc:
        try:
            _finish(recorder, clock, S.FAILED, _error_text(exc))
        except DatabaseError:
            # The block broke the connection's transaction: keep the job's own error.
            logger.exception("job run %s: could not record the failure", run.pk)
        raise
    if recorder.failure is not None:
        _finish(recorder, clock, S.FAILED, recorder.failure)
    else:
        _finish(recorder, clock, S.SUCCEEDED, "")


def _finish(recorder: JobRecorder, clock: float, status: str, error: str) -> None:
    run = recorder.run
    recorder.metrics["duration_ms"] = round((time.monotonic() - clock) * 1000)
    finished = timezone.now()
    job_run_transition(
        job_run_id=run.pk,
        from_status=S.RUNNING,
        to_status=status,
        finished_at=finished,
        error=error,
        metrics=recorder.metrics,
    )
    run.status, run.finished_at, run.error, run.metrics = status, finished, error, recorder.metrics
    logger.info(
        "job %s %s",
        run.type,
        status,
        extra={
            "job_run_id": str(run.pk),
            "workspace_id": str(run.workspace_id) if run.workspace_id else None,
            **{f"metric_{k}": v for k, v in recorder.metrics.items()},
        },
    )


def job_runs(*, type: str = "", status: str = "") -> QuerySet[JobRun]:
    """Job runs, newest first, optionally of one type and one status (the /ops/ Jobs tab)."""
    runs = JobRun.objects.select_related("workspace").order_by("-created_at", "-id")
    if type:
        runs = runs.filter(type=type)
    if status:
        runs = runs.filter(status=status)
    return runs
