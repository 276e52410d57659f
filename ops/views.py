"""The control plane pages (/ops/): true super-admins only. Thin edges over `ops.pages`
(contexts) and `workspace_settings_update` (the one audited way a knob changes)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from config.db import POSTGRESQL_REQUIRED, is_postgresql
from config.labels import human_label
from ops.forms import KnobsForm, ToggleForm
from ops.pages import (
    auto_send_confirmation_context,
    knob_display,
    ops_feed_context,
    ops_health_context,
    ops_jobs_context,
    ops_overview_context,
    ops_quality_context,
    ops_workspace_context,
)
from workspaces.access import is_true_superadmin
from workspaces.analytics_db import analytics_db
from workspaces.errors import DomainError
from workspaces.models import SettingsChange, Workspace
from workspaces.services import workspace_models_check, workspace_settings_update


def superadmin_required[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Anonymous → the login page; signed in but not a true super-admin → a 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_true_superadmin(request.user):
            return render(request, "ops/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def analytics_postgresql_required[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """The figures pages use PostgreSQL aggregates (percentiles); elsewhere they say so."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not is_postgresql(analytics_db()):
            return render(
                request, "ops/needs_postgresql.html", {"message": POSTGRESQL_REQUIRED}, status=503
            )
        return view(request, *args, **kwargs)

    return wrapper


@superadmin_required
@analytics_postgresql_required
def ops_overview(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/overview.html", ops_overview_context(page=request.GET.get("page")))


@superadmin_required
@require_GET
def ops_health(request: HttpRequest) -> HttpResponse:
    """The overview's health tiles alone: the page polls this to stay current."""
    return render(request, "ops/_health.html", ops_health_context())


def _workspace_page(
    request: HttpRequest, workspace: Workspace, *, form: KnobsForm | None = None, status: int = 200
) -> HttpResponse:
    context = ops_workspace_context(
        workspace=workspace, form=form, history_page=request.GET.get("page")
    )
    return render(request, "ops/workspace.html", context, status=status)


@superadmin_required
@analytics_postgresql_required
def ops_workspace(request: HttpRequest, workspace_id: UUID) -> HttpResponse:
    return _workspace_page(request, get_object_or_404(Workspace, pk=workspace_id))


@superadmin_required
@require_POST
def ops_workspace_knobs(request: HttpRequest, workspace_id: UUID) -> HttpResponse:
    workspace = get_object_or_404(Workspace.objects.select_related("settings"), pk=workspace_id)
    form = KnobsForm(request.POST, ws_settings=workspace.settings)
    if form.is_valid():
        verdict = workspace_models_check(workspace=workspace, changes=form.changes())
        try:
            rows = workspace_settings_update(
                workspace=workspace,
                actor=_user(request),
                changes=form.changes(),
                source="ops",
                models_checked=verdict,
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _changed_message(workspace, rows))
            if verdict.notice:
                messages.warning(request, f"{workspace.name}: {verdict.notice}")
            return redirect("ops-workspace", workspace_id=workspace.pk)
    return _workspace_page(request, workspace, form=form, status=400)


@superadmin_required
@require_POST
def ops_workspace_toggle(request: HttpRequest, workspace_id: UUID) -> HttpResponse:
    workspace = get_object_or_404(Workspace, pk=workspace_id)
    form = ToggleForm(request.POST)
    target = reverse("ops-workspace", kwargs={"workspace_id": workspace.pk})
    if not form.is_valid():
        messages.error(request, "That switch does not exist.")
        return redirect(target)
    if url_has_allowed_host_and_scheme(form.cleaned_data["next"], {request.get_host()}):
        target = form.cleaned_data["next"] or target
    if form.needs_confirmation():
        context = auto_send_confirmation_context(workspace=workspace, next_url=target)
        return render(request, "ops/confirm_auto_send.html", context)
    try:
        rows = workspace_settings_update(
            workspace=workspace, actor=_user(request), changes=form.changes(), source="ops"
        )
    except DomainError as exc:
        messages.error(request, f"{workspace.name}: {exc.message}")
    else:
        messages.success(request, _changed_message(workspace, rows))
    return HttpResponseRedirect(target)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # superadmin_required let only users through
    return request.user


def _changed_message(workspace: Workspace, rows: list[SettingsChange]) -> str:
    if not rows:
        return f"{workspace.name}: nothing changed."
    changed = ", ".join(
        f"{human_label(row.field)} {knob_display(row.old_value)} → {knob_display(row.new_value)}"
        for row in rows
    )
    return f"{workspace.name}: {changed}."


@superadmin_required
@analytics_postgresql_required
def ops_feed(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/feed.html", ops_feed_context(request.GET))


@superadmin_required
@analytics_postgresql_required
def ops_quality(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/quality.html", ops_quality_context())


@superadmin_required
def ops_jobs(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/jobs.html", ops_jobs_context(request.GET))
