"""The Django admin offers the same knobs as /ops/ under the same rule: revision knobs are
read-only for anyone but a true super-admin; every change goes through the audited service."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from tests.factories import MembershipFactory, UserFactory
from tests.ops_builders import ADMIN_FIELDS, admin_post
from workspaces.models import REVISION_KNOBS, Role, SettingsChange, WorkspaceSettings


@pytest.fixture
def staff_admin(tenant):
    """A workspace admin with staff access and the admin permissions, but not a super-admin."""
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, workspace=tenant.workspace, role=Role.ADMIN)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_workspacesettings",
                "change_workspacesettings",
                "view_settingschange",
            ]
        )
    )
    return user


def _url(workspace):
    return f"/admin/workspaces/workspacesettings/{workspace.pk}/change/"


def test_superadmin_sees_every_knob_as_an_input(client, tenant, superadmin):
    client.force_login(superadmin)
    body = client.get(_url(tenant.workspace)).content.decode()
    for knob in REVISION_KNOBS:
        assert f'name="{knob}"' in body


def test_revision_knobs_are_read_only_for_a_workspace_admin(client, tenant, staff_admin):
    client.force_login(staff_admin)
    body = client.get(_url(tenant.workspace)).content.decode()
    for knob in REVISION_KNOBS:
        assert f'name="{knob}"' not in body
    assert 'name="auto_send_confidence_threshold"' in body

    editable = [f for f in ADMIN_FIELDS if f not in REVISION_KNOBS]
    data = admin_post(tenant.workspace.settings, editable, auto_send_confidence_threshold=0.9)
    # Revision knobs smuggled into the post are ignored, not applied.
    data |= {"revision_enabled": "on", "revision_model": "evil", "revision_max_iterations": 1}
    response = client.post(_url(tenant.workspace), data)
    assert response.status_code == 302

    ws_settings = WorkspaceSettings.objects.get(workspace=tenant.workspace)
    assert ws_settings.auto_send_confidence_threshold == 0.9
    assert (ws_settings.revision_enabled, ws_settings.revision_model) == (False, "gpt-5.2")
    assert ws_settings.revision_max_iterations == 3
    row = SettingsChange.objects.get()
    assert (row.field, row.source, row.changed_by_id) == (
        "auto_send_confidence_threshold",
        "admin",
        staff_admin.pk,
    )


def test_a_refused_admin_change_logs_nothing(client, tenant, superadmin):
    client.force_login(superadmin)
    data = admin_post(tenant.workspace.settings, ADMIN_FIELDS, auto_send_confidence_threshold=7)
    response = client.post(_url(tenant.workspace), data)
    assert response.status_code == 200
    assert "The confidence threshold must be between 0 and 1." in response.content.decode()
    assert (
        WorkspaceSettings.objects.get(workspace=tenant.workspace).auto_send_confidence_threshold
        == 0.85
    )
    assert SettingsChange.objects.count() == 0
    assert LogEntry.objects.count() == 0


def test_another_workspaces_settings_are_not_reachable(client, tenant, other_tenant, staff_admin):
    client.force_login(staff_admin)
    assert client.get(_url(other_tenant.workspace)).status_code == 302  # "does not exist"
    data = admin_post(other_tenant.workspace.settings, ADMIN_FIELDS, auto_send_enabled=True)
    client.post(_url(other_tenant.workspace), data)
    assert not WorkspaceSettings.objects.get(workspace=other_tenant.workspace).auto_send_enabled
    assert SettingsChange.objects.count() == 0


def test_the_audit_trail_is_read_only_in_the_admin(client, tenant, superadmin):
    client.force_login(superadmin)
    client.post(
        f"/ops/workspaces/{tenant.workspace.pk}/toggle/",
        {"field": "revision_enabled", "value": "on"},
    )
    row = SettingsChange.objects.get()
    assert client.get("/admin/workspaces/settingschange/add/").status_code == 403
    assert (
        client.post(
            f"/admin/workspaces/settingschange/{row.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert SettingsChange.objects.count() == 1
    listing = client.get("/admin/workspaces/settingschange/").content.decode()
    assert "revision_enabled" in listing
