"""Navigation context for every page: the user's workspaces and the current one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from workspaces.access import workspaces_for
from workspaces.context import session_actor

SECTIONS = {"queue": "queue", "draft-detail": "queue", "proposals": "proposals", "timing": "timing"}


def nav(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = session_actor(request)
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match else ""
    section = "ops" if request.path.startswith("/ops/") else SECTIONS.get(name or "", "")
    return {
        "nav": {
            "workspaces": list(workspaces_for(user).order_by("name")),
            "workspace": actor.workspace if actor else None,
            "section": section,
        }
    }
