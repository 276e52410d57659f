"""The shared live-worker fixture really runs tasks through Redis."""

from __future__ import annotations

import time

from celery import shared_task

from workspaces.models import Workspace


@shared_task(name="tests.rename_workspace")
def rename_workspace(workspace_id: str, name: str) -> None:
    Workspace.objects.filter(pk=workspace_id).update(name=name)


def test_live_worker_runs_a_task(celery_worker_live, tenant):
    rename_workspace.delay(str(tenant.workspace.pk), "Renamed by worker")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if Workspace.objects.get(pk=tenant.workspace.pk).name == "Renamed by worker":
            break
        time.sleep(0.1)
    assert Workspace.objects.get(pk=tenant.workspace.pk).name == "Renamed by worker"
