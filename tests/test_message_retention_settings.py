"""The `message_retention_days` knob: off by default, at least 1 day, changed (and audited)
through the API, /ops/ and the admin like every other knob."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.ops_builders import ADMIN_FIELDS, admin_post, knobs_post
from workspaces.models import SettingsChange, WorkspaceSettings

API = "/api/v1/workspace/settings"


def _retention(workspace: Any) -> int | None:
    return WorkspaceSettings.objects.get(workspace=workspace).message_retention_days


def test_off_by_default_and_shown_by_the_api(api: ApiClient, tenant: Any) -> None:
    assert api.get(API).json()["message_retention_days"] is None


def test_an_operator_sets_it_and_turns_it_off_with_null(api: ApiClient, tenant: Any) -> None:
    response = api.patch(API, {"message_retention_days": 90})
    assert response.status_code == 200, response.content
    assert response.json()["message_retention_days"] == 90

    response = api.patch(API, {"message_retention_days": None})
    assert response.status_code == 200
    assert response.json()["message_retention_days"] is None
    rows = SettingsChange.objects.order_by("id").values_list(
        "field", "old_value", "new_value", "source", "changed_by_id"
    )
    assert list(rows) == [
        ("message_retention_days", None, 90, "api", tenant.operator.pk),
        ("message_retention_days", 90, None, "api", tenant.operator.pk),
    ]


@pytest.mark.parametrize("days", [0, -5])
def test_less_than_a_day_is_refused_and_nothing_changes(
    api: ApiClient, tenant: Any, days: int
) -> None:
    response = api.patch(API, {"message_retention_days": days, "auto_send_enabled": True})

    assert response.status_code == 400
    assert response.json()["details"] == [
        {
            "field": "message_retention_days",
            "message": "Message retention must be at least 1 day (or empty).",
        }
    ]
    assert _retention(tenant.workspace) is None
    assert not WorkspaceSettings.objects.get(workspace=tenant.workspace).auto_send_enabled
    assert not SettingsChange.objects.exists()


def _ops_post(workspace: Any, value: str) -> dict[str, Any]:
    current = workspace.settings.message_retention_days
    return {
        **knobs_post(workspace.settings),
        "message_retention_days": value,
        "initial-message_retention_days": "" if current is None else current,
    }


def test_the_ops_knob_form_sets_clears_and_refuses(
    client: Any, tenant: Any, superadmin: Any
) -> None:
    client.force_login(superadmin)
    url = f"/ops/workspaces/{tenant.workspace.pk}/"
    assert 'name="message_retention_days"' in client.get(url).content.decode()

    assert client.post(url + "knobs/", _ops_post(tenant.workspace, "30")).status_code == 302
    assert _retention(tenant.workspace) == 30

    tenant.workspace.settings.refresh_from_db()
    refused = client.post(url + "knobs/", _ops_post(tenant.workspace, "0"))
    assert refused.status_code == 400
    assert refused.context["form"].errors == {
        "message_retention_days": ["Message retention must be at least 1 day (or empty)."]
    }
    assert _retention(tenant.workspace) == 30

    assert client.post(url + "knobs/", _ops_post(tenant.workspace, "")).status_code == 302
    assert _retention(tenant.workspace) is None
    assert list(SettingsChange.objects.order_by("id").values_list("new_value", "source")) == [
        (30, "ops"),
        (None, "ops"),
    ]


def test_the_admin_changes_it_through_the_audited_service(
    client: Any, tenant: Any, superadmin: Any
) -> None:
    client.force_login(superadmin)
    url = f"/admin/workspaces/workspacesettings/{tenant.workspace.pk}/change/"
    fields = [*ADMIN_FIELDS, "message_retention_days"]

    response = client.post(
        url, admin_post(tenant.workspace.settings, fields, message_retention_days=7)
    )

    assert response.status_code == 302
    assert _retention(tenant.workspace) == 7
    row = SettingsChange.objects.get()
    assert (row.field, row.old_value, row.new_value, row.source) == (
        "message_retention_days",
        None,
        7,
        "admin",
    )
