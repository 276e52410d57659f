"""The API tokens page: a person's tokens in their current workspace (name, prefix, created,
last used), creating one with a name (the secret is shown once, in that response only) and
revoking one. A token acts as its owner, so each person manages their own."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from workspaces.context import Actor, session_actor
from workspaces.errors import DomainError
from workspaces.forms import ApiTokenForm
from workspaces.services import api_token_create, api_token_revoke
from workspaces.tokens import api_tokens_of


def _page(
    request: HttpRequest, actor: Actor | None, form: ApiTokenForm, status: int = 200, **extra: Any
) -> HttpResponse:
    tokens = api_tokens_of(workspace=actor.workspace, user=actor.user) if actor else []
    context = {"actor": actor, "form": form, "tokens": tokens, **extra}
    return render(request, "tokens/page.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens_page(request: HttpRequest) -> HttpResponse:
    actor = session_actor(request)
    if request.method == "GET" or actor is None:
        return _page(request, actor, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, actor, form, status=400)
    token, raw = api_token_create(
        workspace=actor.workspace, user=actor.user, name=form.cleaned_data["name"]
    )
    # The one response that holds the secret: rendered, never redirected or cached.
    response = _page(request, actor, ApiTokenForm(), status=201, created=token, secret=raw)
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: UUID) -> HttpResponse:
    actor = session_actor(request)
    if actor is None:
        raise Http404("No workspace.")
    try:
        token = api_token_revoke(workspace=actor.workspace, user=actor.user, token_id=token_id)
    except DomainError as exc:
        raise Http404("Not found.") from exc
    messages.success(request, f"Token “{token.name}” revoked: requests using it are refused now.")
    return redirect("api-tokens")
