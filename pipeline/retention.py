"""Retention: pipeline runs (with their artifacts) are kept for
DRAFT_PIPELINE_RUN_RETENTION_DAYS. Drafts outlive their runs (`Draft.run` is set to null);
AIInteraction rows hold only numbers and stay for the statistics. Each purge batch the beat
task runs is recorded as a pipeline-run-purge `JobRun`; finished `JobRun` rows themselves are
kept for JOB_RUN_RETENTION_DAYS and purged by the same batch (a queued or running one older
than that is left for a person to look at)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pipeline.models import PipelineRun
from workspaces.jobs import job_run
from workspaces.models import JobRun, JobType


def run_context_packs_erase(*, message_ids: Sequence[Any]) -> int:
    """Drop the context packs (the thread's text) of the runs these messages triggered, when
    message retention erases them; returns how many. A run still RUNNING may resume from its
    pack, so it keeps it; one that ended never reads it again."""
    return (
        PipelineRun.objects.filter(trigger_message_id__in=message_ids, context_pack__isnull=False)
        .exclude(status=PipelineRun.Status.RUNNING)
        .update(context_pack=None)
    )


def messages_erased_receive(*, message_ids: Sequence[Any], **_: Any) -> int:
    """drafts.signals.messages_erased, in the sender's transaction."""
    return run_context_packs_erase(message_ids=message_ids)


def pipeline_runs_purge(*, batch_size: int) -> int:
    """Delete up to `batch_size` of the oldest expired runs; returns how many went."""
    cutoff = timezone.now() - timedelta(days=settings.DRAFT_PIPELINE_RUN_RETENTION_DAYS)
    with transaction.atomic():
        ids = list(
            PipelineRun.objects.filter(started_at__lt=cutoff)
            .order_by("started_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        PipelineRun.objects.filter(pk__in=ids).delete()
    return len(ids)


def job_runs_purge(*, batch_size: int) -> int:
    """Delete up to `batch_size` of the oldest finished job runs past their retention."""
    cutoff = timezone.now() - timedelta(days=settings.JOB_RUN_RETENTION_DAYS)
    with transaction.atomic():
        ids = list(
            JobRun.objects.filter(
                created_at__lt=cutoff, status__in=[JobRun.Status.SUCCEEDED, JobRun.Status.FAILED]
            )
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        JobRun.objects.filter(pk__in=ids).delete()
    return len(ids)


def pipeline_runs_purge_recorded(*, batch_size: int) -> int:
    """`pipeline_runs_purge` and `job_runs_purge` as a pipeline-run-purge JobRun; returns the
    larger of the two counts, so a full batch of either means there may be more."""
    with job_run(type=JobType.PIPELINE_RUN_PURGE) as job:
        deleted = pipeline_runs_purge(batch_size=batch_size)
        job_runs_deleted = job_runs_purge(batch_size=batch_size)
        job.set(rows_processed=deleted, job_runs_deleted=job_runs_deleted, batch_size=batch_size)
    return max(deleted, job_runs_deleted)
