"""Celery tasks of the drafts app. Tasks stay thin: they call one service."""

from __future__ import annotations

from functools import partial

from celery import shared_task
from django.db import transaction

from drafts.retention import message_retention_apply, workspaces_with_message_retention
from workspaces.models import Workspace


@shared_task(name="drafts.apply_message_retention", ignore_result=True)
def apply_message_retention() -> None:
    """Beat, daily: one retention task per workspace that sets `message_retention_days`."""
    for workspace_id in workspaces_with_message_retention().values_list("pk", flat=True):
        transaction.on_commit(partial(apply_message_retention_for.delay, str(workspace_id)))


@shared_task(name="drafts.apply_message_retention_for", ignore_result=True)
def apply_message_retention_for(workspace_id: str) -> None:
    """Close idle conversations and erase their messages for one workspace (see
    drafts.retention); with more left than one run takes, the task queues itself again."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    if message_retention_apply(workspace=workspace).more:
        transaction.on_commit(partial(apply_message_retention_for.delay, workspace_id))
