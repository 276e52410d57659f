"""Who is acting, in which workspace: the same object whether the request came with an API
token or a browser session, so services never care which."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from workspaces.access import is_true_superadmin, resolve_workspace
from workspaces.models import Workspace
from workspaces.tokens import api_token_authenticate

SESSION_WORKSPACE_KEY = "workspace_id"


@dataclass(frozen=True)
class Actor:
    user: Any
    workspace: Workspace
    via: str  # "token" or "session"

    @property
    def is_superadmin(self) -> bool:
        return is_true_superadmin(self.user)


def session_actor(request: HttpRequest) -> Actor | None:
    """The browser user and the workspace chosen in their session (or their first one)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    workspace = resolve_workspace(user, request.session.get(SESSION_WORKSPACE_KEY))
    if workspace is None:
        return None
    return Actor(user=user, workspace=workspace, via="session")


class TokenAuth(HttpBearer):
    """`Authorization: Bearer rdk_…`: the token's user, in the token's workspace."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        api_token = api_token_authenticate(raw=token.strip())
        if api_token is None:
            return None
        return Actor(user=api_token.user, workspace=api_token.workspace, via="token")


class SessionWorkspaceAuth(APIKeyCookie):
    """The browser session (CSRF-checked on unsafe methods), for htmx and the docs page."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        return session_actor(request)


def actor_of(request: HttpRequest) -> Actor:
    """The Actor ninja's auth attached to the request."""
    auth = getattr(request, "auth", None)
    if not isinstance(auth, Actor):  # pragma: no cover - routes always declare auth
        raise RuntimeError("route without workspace auth")
    return auth


API_AUTH = [TokenAuth(), SessionWorkspaceAuth()]
