"""The sweeper: inbound messages whose pipeline never started get it published again.

It lives in pipeline because "this message has no run yet" is pipeline's knowledge; drafts
stores the message and publishes the run after commit (drafts.ingest.pipeline_enqueue), and
this is the safety net when that publish was lost."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from drafts.ingest import pipeline_enqueue
from drafts.models import Message
from pipeline.models import PipelineRun

logger = logging.getLogger(__name__)

SWEEP_BATCH_SIZE = 500
SWEEP_HORIZON = timedelta(days=1)


@dataclass(frozen=True)
class SweepResult:
    enqueued: int
    # Where the next batch starts, when this one was full: (received_at, id) of its last row.
    next_after: tuple[datetime, UUID] | None


def unstarted_messages_requeue(
    *,
    after: tuple[datetime, UUID] | None = None,
    batch_size: int = SWEEP_BATCH_SIZE,
    now: datetime | None = None,
) -> SweepResult:
    """Publish the pipeline again for inbound messages received between a day and
    PIPELINE_SWEEP_AFTER (seconds) ago that still have no run: their publish was lost (broker
    down at commit, or restarted empty) or their worker died before the run began. One batch
    in `received_at` order, resumable from `after`, so a long backlog is walked once.

    Each message is claimed (row lock, skip locked) and stamped `pipeline_requeued_at`
    before it is published, so two sweeps never publish it twice and a message still queued
    is published again only after PIPELINE_REQUEUE_GRACE_SECONDS. Duplicate deliveries are
    harmless anyway: the run is unique per message."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.PIPELINE_REQUEUE_GRACE_SECONDS)
    rows = Message.objects.filter(
        ~Exists(PipelineRun.objects.filter(trigger_message_id=OuterRef("pk"))),
        Q(pipeline_requeued_at__isnull=True) | Q(pipeline_requeued_at__lt=now - grace),
        direction=Message.Direction.INBOUND,
        received_at__gte=now - SWEEP_HORIZON,
        received_at__lt=now - settings.PIPELINE_SWEEP_AFTER,
    )
    if after is not None:
        after_at, after_id = after
        rows = rows.filter(received_at__gte=after_at).exclude(
            received_at=after_at, id__lte=after_id
        )
    with transaction.atomic():
        batch = list(
            rows.select_for_update(skip_locked=True)
            .order_by("received_at", "id")
            .values_list("received_at", "id")[:batch_size]
        )
        Message.objects.filter(pk__in=[message_id for _, message_id in batch]).update(
            pipeline_requeued_at=now
        )
    for _, message_id in batch:
        pipeline_enqueue(message_id=str(message_id))
    if batch:
        logger.info("sweeper re-enqueued unstarted messages", extra={"count": len(batch)})
    return SweepResult(
        enqueued=len(batch), next_after=batch[-1] if len(batch) == batch_size else None
    )
