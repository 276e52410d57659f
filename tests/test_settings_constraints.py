"""Every settings invariant is enforced by the database itself, and by the service with a
clear message."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from workspaces.errors import DomainError, PermissionDenied
from workspaces.models import SettingsChange, WorkspaceSettings
from workspaces.services import workspace_settings_update


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("auto_send_confidence_threshold", 1.01),
        ("auto_send_confidence_threshold", -0.1),
        ("auto_send_delay_min_seconds", -1),
        ("auto_send_delay_max_seconds", 100),  # below the default min of 180
        ("revision_max_iterations", 0),
        ("revision_max_iterations", 4),
        ("revision_reasoning_effort", "extreme"),
    ],
)
def test_database_rejects_invalid_knob(tenant, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkspaceSettings.objects.filter(workspace=tenant.workspace).update(**{field: value})
    fresh = WorkspaceSettings.objects.get(workspace=tenant.workspace)
    assert getattr(fresh, field) == WorkspaceSettings._meta.get_field(field).default


def test_defaults_are_the_safe_ones(tenant):
    s = WorkspaceSettings.objects.get(workspace=tenant.workspace)
    assert (s.auto_send_enabled, s.revision_enabled) == (False, False)
    assert s.auto_send_confidence_threshold == 0.85
    assert (s.auto_send_delay_min_seconds, s.auto_send_delay_max_seconds) == (180, 900)
    assert (s.revision_model, s.revision_reasoning_effort, s.revision_max_iterations) == (
        "gpt-5.2",
        "high",
        3,
    )


def test_service_refuses_min_above_max_with_a_clear_message(tenant):
    with pytest.raises(DomainError) as exc:
        workspace_settings_update(
            workspace=tenant.workspace,
            actor=tenant.operator,
            changes={"auto_send_delay_min_seconds": 1000},
            source="test",
        )
    assert "maximum delay must be at least the minimum" in str(exc.value.details)
    assert SettingsChange.objects.count() == 0


def test_service_writes_one_audit_row_per_changed_field(tenant):
    rows = workspace_settings_update(
        workspace=tenant.workspace,
        actor=tenant.operator,
        changes={"auto_send_enabled": True, "auto_send_confidence_threshold": 0.85},
        source="test",
    )
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [
        ("auto_send_enabled", False, True)
    ]
    assert SettingsChange.objects.get().changed_by == tenant.operator


def test_revision_knobs_need_a_true_superadmin(tenant, superadmin):
    tenant.operator.is_staff = True
    tenant.operator.save()
    with pytest.raises(PermissionDenied):
        workspace_settings_update(
            workspace=tenant.workspace,
            actor=tenant.operator,
            changes={"revision_enabled": True},
            source="test",
        )
    assert not WorkspaceSettings.objects.get(workspace=tenant.workspace).revision_enabled
    assert SettingsChange.objects.count() == 0
    workspace_settings_update(
        workspace=tenant.workspace,
        actor=superadmin,
        changes={"revision_enabled": True},
        source="test",
    )
    assert WorkspaceSettings.objects.get(workspace=tenant.workspace).revision_enabled
