"""API tokens are stored hashed and act as their user in their workspace."""

from __future__ import annotations

import hashlib

from workspaces.models import ApiToken
from workspaces.tokens import api_token_authenticate


def test_token_is_stored_only_as_a_hash(tenant):
    stored = ApiToken.objects.get(workspace=tenant.workspace)
    assert tenant.token not in (stored.token_hash, stored.prefix)
    assert stored.token_hash == hashlib.sha256(tenant.token.encode()).hexdigest()
    assert tenant.token.startswith(f"rdk_{stored.prefix}_")


def test_authenticate_accepts_the_token_and_nothing_else(tenant):
    token = api_token_authenticate(raw=tenant.token)
    assert token is not None
    assert (token.user, token.workspace) == (tenant.operator, tenant.workspace)
    assert api_token_authenticate(raw=tenant.token[:-1] + "x") is None
    assert api_token_authenticate(raw="") is None
    assert api_token_authenticate(raw="Bearer " + tenant.token) is None


def test_revoked_token_or_inactive_user_is_refused(tenant, api):
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    response = api.get("/api/v1/workspace/settings")
    assert response.status_code == 401
    assert response.json()["error"].startswith("Authentication required")


def test_token_acts_in_its_workspace(tenant, other_tenant, api):
    response = api.get("/api/v1/workspace/settings")
    assert response.status_code == 200
    assert response.json()["workspace_id"] == str(tenant.workspace.pk)
