"""Tenant scoping lives in workspaces/access.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from tests.factories import LeadFactory, UserFactory
from workspaces.access import (
    get_in_workspace_or_404,
    is_true_superadmin,
    resolve_workspace,
    scope_to_user,
    workspaces_for,
)
from workspaces.models import Lead


def test_members_see_only_their_workspaces(tenant, other_tenant):
    assert list(workspaces_for(tenant.operator)) == [tenant.workspace]
    assert list(workspaces_for(AnonymousUser())) == []


def test_scope_to_user_filters_rows(tenant, other_tenant):
    mine = LeadFactory(workspace=tenant.workspace)
    LeadFactory(workspace=other_tenant.workspace)
    assert list(scope_to_user(Lead.objects.all(), tenant.operator)) == [mine]


def test_another_workspaces_object_is_a_404(tenant, other_tenant):
    theirs = LeadFactory(workspace=other_tenant.workspace)
    with pytest.raises(Http404):
        get_in_workspace_or_404(Lead.objects.all(), tenant.workspace, pk=theirs.pk)
    with pytest.raises(Http404):
        get_in_workspace_or_404(Lead.objects.all(), tenant.workspace, pk="not-a-uuid")


def test_only_is_superuser_makes_a_superadmin(db):
    assert not is_true_superadmin(UserFactory(is_staff=True))
    assert is_true_superadmin(UserFactory(is_superuser=True))
    assert not is_true_superadmin(UserFactory(is_superuser=True, is_active=False))
    assert not is_true_superadmin(AnonymousUser())


def test_session_workspace_choice_is_checked_against_membership(tenant, other_tenant):
    assert resolve_workspace(tenant.operator, other_tenant.workspace.pk) == tenant.workspace
    assert resolve_workspace(tenant.operator, "garbage") == tenant.workspace
