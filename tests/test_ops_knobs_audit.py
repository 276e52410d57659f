"""Every knob changed through /ops/, the Django admin and the API writes exactly one audit
row; a refusal on any of the three changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.factories import MembershipFactory
from tests.ops_builders import ADMIN_FIELDS, admin_post, knobs_post
from workspaces.models import Role, SettingsChange, WorkspaceSettings
from workspaces.services import api_token_create

# knob → (default, new value)
KNOB_CHANGES: dict[str, tuple[Any, Any]] = {
    "auto_send_enabled": (False, True),
    "auto_send_confidence_threshold": (0.85, 0.7),
    "auto_send_delay_min_seconds": (180, 60),
    "auto_send_delay_max_seconds": (900, 1200),
    "revision_enabled": (False, True),
    "revision_model": ("gpt-5.2", "gpt-5-mini"),
    "revision_reasoning_effort": ("high", "medium"),
    "revision_max_iterations": (3, 2),
}
SWITCHES = {"auto_send_enabled", "revision_enabled"}


def change_through_page(client, workspace, field, value):
    url = f"/ops/workspaces/{workspace.pk}/"
    if field in SWITCHES:
        # Turning a switch on through the page asks first; `confirmed` is the answer.
        data = {"field": field, "value": "on" if value else "off", "confirmed": "on"}
        return client.post(url + "toggle/", data)
    return client.post(url + "knobs/", knobs_post(workspace.settings, **{field: value}))


def change_through_admin(client, workspace, field, value):
    url = f"/admin/workspaces/workspacesettings/{workspace.pk}/change/"
    return client.post(url, admin_post(workspace.settings, ADMIN_FIELDS, **{field: value}))


@pytest.fixture
def superadmin_api(tenant, superadmin):
    MembershipFactory(user=superadmin, workspace=tenant.workspace, role=Role.ADMIN)
    _, token = api_token_create(workspace=tenant.workspace, user=superadmin)
    return ApiClient(token)


@pytest.mark.parametrize("field", list(KNOB_CHANGES))
@pytest.mark.parametrize("path", ["ops", "admin", "api"])
def test_each_knob_change_writes_one_audit_row(path, field, client, tenant, superadmin, request):
    old, new = KNOB_CHANGES[field]
    workspace = tenant.workspace
    assert getattr(workspace.settings, field) == old
    if path == "api":
        response = request.getfixturevalue("superadmin_api").patch(
            "/api/v1/workspace/settings", {field: new}
        )
        assert response.status_code == 200, response.content
    else:
        client.force_login(superadmin)
        change = change_through_page if path == "ops" else change_through_admin
        response = change(client, workspace, field, new)
        assert response.status_code == 302, response.content.decode()[:2000]

    row = SettingsChange.objects.get(workspace=workspace)  # exactly one
    assert (row.field, row.old_value, row.new_value) == (field, old, new)
    assert (row.source, row.changed_by_id) == (path, superadmin.pk)
    assert getattr(WorkspaceSettings.objects.get(workspace=workspace), field) == new


def test_saving_without_changes_writes_nothing(client, tenant, superadmin):
    client.force_login(superadmin)
    assert (
        change_through_page(client, tenant.workspace, "revision_model", "gpt-5.2").status_code
        == 302
    )
    assert (
        change_through_admin(client, tenant.workspace, "revision_model", "gpt-5.2").status_code
        == 302
    )
    assert SettingsChange.objects.count() == 0


def _snapshot(workspace):
    return (
        list(WorkspaceSettings.objects.filter(workspace=workspace).values()),
        SettingsChange.objects.count(),
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"auto_send_confidence_threshold": 1.5},
            "auto_send_confidence_threshold",
            "The confidence threshold must be between 0 and 1.",
        ),
        (
            {"auto_send_delay_min_seconds": 1000},
            "auto_send_delay_min_seconds",
            "The maximum delay must be at least the minimum delay.",
        ),
        (
            {"auto_send_delay_max_seconds": 10},
            "auto_send_delay_max_seconds",
            "The maximum delay must be at least the minimum delay.",
        ),
        (
            {"auto_send_delay_min_seconds": -1},
            "auto_send_delay_min_seconds",
            "The minimum delay cannot be negative.",
        ),
    ],
)
def test_refusals_on_the_ops_page_show_the_error_next_to_the_field(
    client, tenant, superadmin, changes, field, message
):
    client.force_login(superadmin)
    before = _snapshot(tenant.workspace)
    response = client.post(
        f"/ops/workspaces/{tenant.workspace.pk}/knobs/",
        knobs_post(tenant.workspace.settings, **changes),
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {field: [message]}
    assert (
        f'id="id_{tenant.workspace.pk}_{field}_error">{message}</div>' in response.content.decode()
    )
    assert _snapshot(tenant.workspace) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"auto_send_confidence_threshold": "abc"}, "auto_send_confidence_threshold"),
        ({"revision_max_iterations": 5}, "revision_max_iterations"),
        ({"revision_reasoning_effort": "extreme"}, "revision_reasoning_effort"),
        ({"revision_model": ""}, "revision_model"),
    ],
)
def test_unparseable_values_are_refused_with_nothing_changed(
    client, tenant, superadmin, changes, field
):
    client.force_login(superadmin)
    before = _snapshot(tenant.workspace)
    response = client.post(
        f"/ops/workspaces/{tenant.workspace.pk}/knobs/",
        knobs_post(tenant.workspace.settings, **changes),
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert _snapshot(tenant.workspace) == before


def test_refusal_on_the_api_changes_nothing(superadmin_api, tenant):
    before = _snapshot(tenant.workspace)
    response = superadmin_api.patch(
        "/api/v1/workspace/settings",
        {"auto_send_enabled": True, "auto_send_delay_min_seconds": 5000},
    )
    assert response.status_code == 400
    assert response.json()["details"] == [
        {
            "field": "auto_send_delay_min_seconds",
            "message": "The maximum delay must be at least the minimum delay.",
        }
    ]
    assert _snapshot(tenant.workspace) == before


def test_refusal_in_the_admin_shows_the_error_and_changes_nothing(client, tenant, superadmin):
    client.force_login(superadmin)
    before = _snapshot(tenant.workspace)
    response = change_through_admin(client, tenant.workspace, "auto_send_delay_min_seconds", 5000)
    assert response.status_code == 200  # the form again, with the error
    assert "The maximum delay must be at least the minimum delay." in response.content.decode()
    assert _snapshot(tenant.workspace) == before
