"""GET/PATCH /api/v1/workspace/settings."""

from __future__ import annotations

from workspaces.models import SettingsChange, WorkspaceSettings


def test_get_returns_every_knob(api, tenant):
    body = api.get("/api/v1/workspace/settings").json()
    assert body["auto_send_confidence_threshold"] == 0.85
    assert body["revision_max_iterations"] == 3


def test_patch_changes_and_audits(api, tenant):
    response = api.patch(
        "/api/v1/workspace/settings",
        {"auto_send_enabled": True, "auto_send_delay_max_seconds": 600},
    )
    assert response.status_code == 200, response.content
    assert response.json()["auto_send_enabled"] is True
    assert SettingsChange.objects.filter(workspace=tenant.workspace, source="api").count() == 2


def test_patch_invalid_value_is_a_clear_400(api, tenant):
    response = api.patch("/api/v1/workspace/settings", {"auto_send_confidence_threshold": 2})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "auto_send_confidence_threshold"
    assert (
        WorkspaceSettings.objects.get(workspace=tenant.workspace).auto_send_confidence_threshold
        == 0.85
    )


def test_patch_unknown_field_is_400(api, tenant):
    response = api.patch("/api/v1/workspace/settings", {"nope": 1})
    assert response.status_code == 400
    assert SettingsChange.objects.count() == 0


def test_revision_knob_is_403_for_an_operator(api, tenant):
    response = api.patch(
        "/api/v1/workspace/settings", {"revision_enabled": True, "auto_send_enabled": True}
    )
    assert response.status_code == 403
    s = WorkspaceSettings.objects.get(workspace=tenant.workspace)
    assert not s.revision_enabled
    assert not s.auto_send_enabled
    assert SettingsChange.objects.count() == 0


def test_unauthenticated_is_401(client, tenant):
    response = client.get("/api/v1/workspace/settings")
    assert response.status_code == 401
