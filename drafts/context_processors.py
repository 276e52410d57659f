"""Navigation context for every page: the user's workspaces, the current one and the queue
counts. It lives in drafts (not workspaces) because the counts are drafts'; workspaces, the
base layer, imports no app above it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from drafts.selectors import NavCounts, nav_counts
from workspaces.access import workspaces_for
from workspaces.context import SESSION_WORKSPACE_KEY
from workspaces.models import Workspace

SECTIONS = {
    "queue": "queue",
    "draft-detail": "queue",
    "proposals": "proposals",
    "timing": "timing",
    "knowledge": "knowledge",
    "knowledge-document": "knowledge",
}


def request_nav_counts(request: HttpRequest, workspace: Workspace) -> NavCounts:
    """The navigation's counts, computed once per request (the queue page shows the same
    numbers and reuses them instead of counting the queue twice)."""
    cached = getattr(request, "_nav_counts", None)
    if cached is None or cached[0] != workspace.pk:
        cached = (workspace.pk, nav_counts(workspace=workspace, user=request.user))
        request._nav_counts = cached  # type: ignore[attr-defined]
    return cached[1]


def nav(request: HttpRequest) -> dict[str, Any]:
    """Two queries: the user's workspaces (the current one is picked from them, as
    `resolve_workspace` would) and the counts shown in the navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    workspaces = list(workspaces_for(user).order_by("name"))
    chosen = str(request.session.get(SESSION_WORKSPACE_KEY) or "")
    workspace = next((ws for ws in workspaces if str(ws.pk) == chosen), None)
    workspace = workspace or (workspaces[0] if workspaces else None)
    counts = request_nav_counts(request, workspace) if workspace else NavCounts()
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match else ""
    section = "ops" if request.path.startswith("/ops/") else SECTIONS.get(name or "", "")
    return {
        "nav": {
            "workspaces": workspaces,
            "workspace": workspace,
            "section": section,
            "pending_count": counts.pending,
            "proposal_count": counts.proposals,
            "unread_count": counts.unread,
        }
    }
