"""Celery tasks of the drafts app. Tasks stay thin: they call one service."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from celery import shared_task

from drafts import ingest


@shared_task(name="drafts.sweep_unstarted_messages", ignore_result=True)
def sweep_unstarted_messages(
    after_received_at: str | None = None, after_id: str | None = None
) -> int:
    """Beat, every minute: re-publish the pipeline for inbound messages that never started
    (a broker outage at commit time). A full batch queues the next one from where it ended."""
    after = (
        (datetime.fromisoformat(after_received_at), UUID(after_id))
        if after_received_at and after_id
        else None
    )
    result = ingest.unstarted_messages_requeue(after=after, batch_size=ingest.SWEEP_BATCH_SIZE)
    if result.next_after is not None:
        received_at, message_id = result.next_after
        sweep_unstarted_messages.delay(received_at.isoformat(), str(message_id))
    return result.enqueued
