"""The review pages' reads of the rows above drafts: the sends auto-send booked for drafts
and the artifacts of a draft's pipeline run. Everything else they read is drafts.selectors."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max

from autosend.models import ScheduledSend
from drafts.models import Draft
from pipeline.models import PipelineArtifact
from workspaces.models import Workspace


def sends_waiting_until(*, workspace: Workspace, ids: list[str]) -> datetime | None:
    """The latest time any of these drafts' approved replies goes out (None when none is
    waiting): until then the queue offers "Undo"."""
    found = ScheduledSend.objects.filter(
        workspace=workspace, draft_id__in=ids, status=ScheduledSend.Status.SCHEDULED
    ).aggregate(until=Max("run_at"))
    return found["until"]


def draft_artifacts(*, draft: Draft) -> list[PipelineArtifact]:
    if draft.run_id is None:
        return []
    return list(PipelineArtifact.objects.filter(run_id=draft.run_id).order_by("created_at", "id"))
