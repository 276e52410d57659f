"""The workspace's knobs (health is ops.api)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import ConfigDict

from workspaces.context import API_AUTH, actor_of
from workspaces.models import WorkspaceSettings, knob_values
from workspaces.services import workspace_models_check, workspace_settings_update

router = Router(tags=["workspace"])


class SettingsOut(Schema):
    workspace_id: str
    auto_send_enabled: bool
    auto_send_confidence_threshold: float
    auto_send_delay_min_seconds: int
    auto_send_delay_max_seconds: int
    revision_enabled: bool
    revision_model: str
    revision_reasoning_effort: str
    revision_max_iterations: int
    draft_model: str
    lead_context_bundle_enabled: bool
    meeting_booking_gate_enabled: bool
    reply_guidelines: str
    message_retention_days: int | None
    undo_seconds: int


class SettingsPatched(SettingsOut):
    # What the change could not check (a model server that did not answer): saved anyway.
    notices: list[str]


class SettingsPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    auto_send_enabled: bool | None = None
    auto_send_confidence_threshold: float | None = None
    auto_send_delay_min_seconds: int | None = None
    auto_send_delay_max_seconds: int | None = None
    revision_enabled: bool | None = None
    revision_model: str | None = None
    revision_reasoning_effort: str | None = None
    revision_max_iterations: int | None = None
    draft_model: str | None = None
    lead_context_bundle_enabled: bool | None = None
    meeting_booking_gate_enabled: bool | None = None
    reply_guidelines: str | None = None
    # Explicit null turns retention off.
    message_retention_days: int | None = None
    undo_seconds: int | None = None


def _settings_out(ws_settings: WorkspaceSettings) -> dict[str, Any]:
    return {"workspace_id": str(ws_settings.workspace_id), **knob_values(ws_settings)}


@router.get("/workspace/settings", response=SettingsOut, auth=API_AUTH)
def settings_get(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    return _settings_out(WorkspaceSettings.objects.get(workspace=actor.workspace))


@router.patch("/workspace/settings", response=SettingsPatched, auth=API_AUTH)
def settings_patch(request: HttpRequest, payload: SettingsPatch) -> dict[str, Any]:
    actor = actor_of(request)
    changes = payload.model_dump(exclude_unset=True)
    verdict = workspace_models_check(workspace=actor.workspace, changes=changes)
    workspace_settings_update(
        workspace=actor.workspace,
        actor=actor.user,
        changes=changes,
        source="api",
        models_checked=verdict,
    )
    settings_out = _settings_out(WorkspaceSettings.objects.get(workspace=actor.workspace))
    return {**settings_out, "notices": [verdict.notice] if verdict.notice else []}
