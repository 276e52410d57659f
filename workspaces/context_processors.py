"""Navigation context for every page: the user's workspaces and the current one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from drafts.selectors import nav_counts
from workspaces.access import workspaces_for
from workspaces.context import SESSION_WORKSPACE_KEY

SECTIONS = {"queue": "queue", "draft-detail": "queue", "proposals": "proposals", "timing": "timing"}


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
    counts = nav_counts(workspace=workspace, user=user) if workspace else {}
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match else ""
    section = "ops" if request.path.startswith("/ops/") else SECTIONS.get(name or "", "")
    return {
        "nav": {
            "workspaces": workspaces,
            "workspace": workspace,
            "section": section,
            "pending_count": counts.get("pending", 0),
            "proposal_count": counts.get("proposals", 0),
            "unread_count": counts.get("unread", 0),
        }
    }
