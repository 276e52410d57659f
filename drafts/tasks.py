"""Celery tasks of the drafts app. Tasks stay thin: they call one service."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from uuid import UUID

from celery import shared_task
from django.db import transaction

from drafts import ingest
from workspaces.models import Workspace


@shared_task(name="drafts.sweep_unstarted_messages", ignore_result=True)
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
    result = ingest.unstarted_messages_requeue(after=after, batch_size=ingest.SWEEP_BATCH_SIZE)
    if result.next_after is not None:
        received_at, message_id = result.next_after
        sweep_unstarted_messages.delay(received_at.isoformat(), str(message_id))
    return result.enqueued


@shared_task(name="drafts.apply_message_retention", ignore_result=True)
def apply_message_retention() -> None:
    """Beat, daily: one retention task per workspace that sets `message_retention_days`."""
    from drafts.retention import workspaces_with_message_retention

    for workspace_id in workspaces_with_message_retention().values_list("pk", flat=True):
        transaction.on_commit(partial(apply_message_retention_for.delay, str(workspace_id)))


@shared_task(name="drafts.apply_message_retention_for", ignore_result=True)
def apply_message_retention_for(workspace_id: str) -> None:
    """Close idle conversations and erase their messages for one workspace (see
    drafts.retention); with more left than one run takes, the task queues itself again."""
    from drafts.retention import message_retention_apply

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    if message_retention_apply(workspace=workspace).more:
        transaction.on_commit(partial(apply_message_retention_for.delay, workspace_id))
