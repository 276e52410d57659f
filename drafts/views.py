"""Operator pages: proposals and the notification feed, and what the queue and draft pages
share (the queue is drafts/views_queue.py, the draft page drafts/views_draft.py).

Views parse the request, scope it to the session's workspace (another workspace's id is a
404) and call one service. Forms work without JavaScript (post, then redirect); with htmx the
same views answer with the fragment to swap, and refusals come back as that fragment with
their 4xx status and the reason in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from drafts import selectors
from drafts.models import Draft, Proposal
from drafts.proposals import proposal_accept, proposal_batch_decide, proposal_reject
from drafts.review import (
    Hold,
    draft_hold_of,
    notification_mark_read,
    notifications_mark_all_read,
)
from workspaces.context import Actor, session_actor
from workspaces.errors import DomainError

PROPOSAL_STATUS_CHOICES = [(s.value, s.label) for s in Proposal.Status] + [("all", "Any status")]


def _actor(request: HttpRequest) -> Actor:
    """The session's workspace actor; a signed-in user with no workspace gets a 404."""
    actor = session_actor(request)
    if actor is None:
        raise Http404("No workspace.")
    return actor


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _uuid_or_none(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- The review queue ----------------------------------------------------------------------


@dataclass
class QueueRow:
    draft: Draft
    hold: Hold | None
    error: str = ""


# --- Shared with the draft page (drafts/views_draft.py) --------------------------------


def _queue_row_response(
    request: HttpRequest, actor: Actor, draft_id: UUID, *, error: str = "", status: int = 200
) -> HttpResponse:
    draft = selectors.queue_row(workspace=actor.workspace, draft_id=draft_id)
    if draft is None:
        raise Http404("Not found.")
    row = QueueRow(draft=draft, hold=draft_hold_of(draft, actor.user), error=error)
    return render(request, "drafts/_queue_row.html", {"row": row}, status=status)


# --- Proposals -----------------------------------------------------------------------------


@login_required
@require_GET
def proposals_page(request: HttpRequest) -> HttpResponse:
    actor = session_actor(request)
    if actor is None:
        return render(request, "drafts/proposals.html", {"actor": None})
    return _render_proposals(request, actor)


def _render_proposals(
    request: HttpRequest, actor: Actor, *, error: str = "", status: int = 200
) -> HttpResponse:
    chosen = request.GET.get("status") or Proposal.Status.PENDING
    if chosen not in dict(PROPOSAL_STATUS_CHOICES):
        chosen = Proposal.Status.PENDING
    mine = request.GET.get("mine") == "1"
    proposals = selectors.proposals_for_review(
        workspace=actor.workspace,
        status=None if chosen == "all" else chosen,
        assigned_to=actor.user if mine else None,
    )
    return render(
        request,
        "drafts/proposals.html",
        {
            "actor": actor,
            "groups": selectors.proposals_grouped(proposals),
            "shown": len(proposals),
            "limit": selectors.PROPOSALS_PAGE_LIMIT,
            "status": chosen,
            "status_choices": PROPOSAL_STATUS_CHOICES,
            "mine": mine,
            "error": error,
        },
        status=status,
    )


def _batch_response(
    request: HttpRequest, actor: Actor, batch_id: UUID, *, error: str = "", status: int = 200
) -> HttpResponse:
    """After an action: the batch card again (htmx), or the page (plain form)."""
    if not _htmx(request):
        if error:
            return _render_proposals(request, actor, error=error, status=status)
        messages.success(request, "Saved.")
        return redirect(_safe_next(request, reverse("proposals")))
    proposals = selectors.proposals_of_batch(workspace=actor.workspace, batch_id=batch_id)
    groups = selectors.proposals_grouped(proposals)
    if not groups:
        raise Http404("Not found.")
    return render(
        request,
        "drafts/_proposal_batch.html",
        {
            "actor": actor,
            "group": groups[0],
            "batch": groups[0].batches[0],
            "error": error,
        },
        status=status,
    )


@login_required
@require_POST
def proposal_decide(request: HttpRequest, proposal_id: UUID, decision: str) -> HttpResponse:
    actor = _actor(request)
    proposal = selectors.proposal_in_workspace(workspace=actor.workspace, proposal_id=proposal_id)
    if proposal is None or decision not in ("accept", "reject", "edit"):
        raise Http404("Not found.")
    try:
        if decision == "reject":
            proposal_reject(proposal=proposal, user=actor.user)
        else:
            value = request.POST.get("value", "") if decision == "edit" else None
            proposal_accept(proposal=proposal, user=actor.user, value=value)
    except DomainError as exc:
        return _batch_response(
            request, actor, proposal.batch_id, error=exc.message, status=exc.status
        )
    return _batch_response(request, actor, proposal.batch_id)


@login_required
@require_POST
def proposal_batch_view(request: HttpRequest, batch_id: UUID, decision: str) -> HttpResponse:
    actor = _actor(request)
    if decision not in ("accept", "reject"):
        raise Http404("Not found.")
    try:
        proposal_batch_decide(
            workspace=actor.workspace,
            batch_id=batch_id,
            user=actor.user,
            accept=decision == "accept",
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404("Not found.") from exc
        return _batch_response(request, actor, batch_id, error=exc.message, status=exc.status)
    return _batch_response(request, actor, batch_id)


# --- Notifications -------------------------------------------------------------------------

BELL_ITEMS = 8


def _notifications_response(request: HttpRequest, actor: Actor, template: str) -> HttpResponse:
    """The list (page) or the bell's feed (htmx), with the unread count the bell shows."""
    rows = selectors.notification_rows(workspace=actor.workspace, user=actor.user)
    items = list(rows[:BELL_ITEMS] if _htmx(request) else rows[:100])
    unread = rows.filter(read_at__isnull=True).count()
    return render(request, template, {"actor": actor, "items": items, "unread_count": unread})


@login_required
@require_GET
def notifications_page(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    template = "drafts/_notification_feed.html" if _htmx(request) else "drafts/notifications.html"
    return _notifications_response(request, actor, template)


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: UUID) -> HttpResponse:
    actor = _actor(request)
    try:
        notification_mark_read(
            workspace=actor.workspace, user=actor.user, notification_id=notification_id
        )
    except DomainError as exc:
        raise Http404("Not found.") from exc
    if _htmx(request):
        rows = selectors.notification_rows(workspace=actor.workspace, user=actor.user)
        context = {
            "item": rows.get(pk=notification_id),
            "unread_count": rows.filter(read_at__isnull=True).count(),
            "oob_count": True,
        }
        return render(request, "drafts/_notification_item.html", context)
    return redirect(_safe_next(request, reverse("notifications")))


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    count = notifications_mark_all_read(workspace=actor.workspace, user=actor.user)
    if _htmx(request):
        return _notifications_response(request, actor, "drafts/_notification_feed.html")
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect(_safe_next(request, reverse("notifications")))
