"""The review queue page and the endpoints it works through with htmx: the live list, assign
from a row, approve in place, bulk approve/reject, and undo inside the undo window.

Each view parses the request, scopes it to the session's workspace and calls one service
(drafts.assignment, drafts.bulk). Every form also works without JavaScript: post, then a
redirect back to the queue with the outcome as a message.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from drafts import selectors
from drafts.assignment import NOBODY, conversation_assign, workspace_people
from drafts.bulk import BulkResult, drafts_bulk_decide, drafts_bulk_undo
from drafts.context_processors import request_nav_counts
from drafts.models import Draft, DraftAction
from drafts.review import draft_hold_of
from drafts.views import QueueRow, _actor, _htmx, _safe_next, _uuid_or_none
from review import selectors as review_selectors
from workspaces.context import Actor, session_actor
from workspaces.errors import DomainError

QUEUE_PAGE_SIZE = 50
STATUS_CHOICES = [(s.value, s.label) for s in Draft.Status] + [("all", "Any status")]
# Saved views: whose conversations the queue shows.
VIEWS = [("mine", "Mine"), ("unassigned", "Unassigned"), ("all", "All")]
MAX_QUERY_CHARS = 200
QUEUE_VIEW_KEY = "queue_view"


@dataclass(frozen=True)
class QueueQuery:
    """The queue's URL state: every filter keeps the others (tabs, search, selects, pages)."""

    view: str
    status: str
    channel_id: UUID | None
    reason: str
    q: str
    page: int

    def params(self, **changes: Any) -> str:
        """The query string for this state with `changes` (page 1 unless given)."""
        state = replace(self, **{"page": 1, **changes})
        pairs = {
            "view": state.view,
            "status": state.status if state.status != Draft.Status.PENDING else "",
            "channel": state.channel_id or "",
            "reason": state.reason,
            "q": state.q,
            "page": state.page if state.page > 1 else "",
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    @property
    def filtered(self) -> bool:
        return bool(self.channel_id or self.reason or self.q or self.status != Draft.Status.PENDING)


def _queue_query(
    actor: Actor, query: QueryDict, people: list[Any], remembered: str = ""
) -> QueueQuery:
    """Parse (and clean) the queue's filters. With no view asked for, the one last chosen
    (`remembered`), else "Mine" for a rep (of `people`, the workspace's members), else "All"."""
    status = query.get("status") or Draft.Status.PENDING
    if status not in dict(STATUS_CHOICES):
        status = Draft.Status.PENDING
    reason = query.get("reason") or ""
    if reason not in selectors.REASONS:
        reason = ""
    view = query.get("view") or remembered
    if view not in dict(VIEWS):
        is_rep = any(p.pk == actor.user.pk and p.is_rep for p in people)
        view = "mine" if is_rep else "all"
    try:
        page = max(1, int(query.get("page") or 1))
    except ValueError:
        page = 1
    return QueueQuery(
        view=view,
        status=status,
        channel_id=_uuid_or_none(query.get("channel")),
        reason=reason,
        q=(query.get("q") or "").strip()[:MAX_QUERY_CHARS],
        page=page,
    )


def _filters(actor: Actor, state: QueueQuery) -> selectors.DraftFilters:
    assignee: int | str | None = None
    if state.view == "mine":
        assignee = int(actor.user.pk)
    elif state.view == "unassigned":
        assignee = NOBODY
    return selectors.DraftFilters(
        status=None if state.status == "all" else state.status,
        channel_id=state.channel_id,
        reason=state.reason or None,
        q=state.q,
        assignee=assignee,
    )


def _list_context(
    request: HttpRequest, actor: Actor, state: QueueQuery, people: list[Any]
) -> dict[str, Any]:
    """What the live part of the page shows: rows, counts, pager, and the nav's counts."""
    filters = _filters(actor, state)
    counts = request_nav_counts(request, actor.workspace)
    if filters == selectors.DraftFilters():  # everything waiting: the nav counted it already
        count, oldest = counts.pending, counts.oldest_pending
    else:
        count, oldest = selectors.queue_stats(workspace=actor.workspace, filters=filters)
    items = selectors.drafts_page(
        workspace=actor.workspace,
        filters=filters,
        offset=(state.page - 1) * QUEUE_PAGE_SIZE,
        limit=QUEUE_PAGE_SIZE,
        newest_first=state.status not in (Draft.Status.PENDING, Draft.Status.SCHEDULED),
        for_queue=True,
    )
    first_index = (state.page - 1) * QUEUE_PAGE_SIZE + 1
    return {
        "actor": actor,
        "state": state,
        "rows": [QueueRow(draft=d, hold=draft_hold_of(d, actor.user)) for d in items],
        "people": people,
        "count": count,
        "oldest": oldest,
        "pages": max(1, math.ceil(count / QUEUE_PAGE_SIZE)),
        "first_index": first_index,
        "last_index": first_index + len(items) - 1,
        "counts": counts,
        "live_url": f"{reverse('queue-list')}?{state.params(page=state.page)}",
    }


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    actor = session_actor(request)
    if actor is None:
        return render(request, "drafts/queue.html", {"actor": None})
    people = workspace_people(workspace=actor.workspace)
    state = _queue_query(actor, request.GET, people, request.session.get(QUEUE_VIEW_KEY, ""))
    if request.GET.get("view") == state.view and request.session.get(QUEUE_VIEW_KEY) != state.view:
        request.session[QUEUE_VIEW_KEY] = state.view  # the queue reopens on the chosen view
    channels = selectors.channels_of(workspace=actor.workspace)
    if state.channel_id not in {c.pk for c in channels}:
        state = replace(state, channel_id=None)
    context = _list_context(request, actor, state, people)
    context.update(
        {
            "views": [(key, label, state.params(view=key)) for key, label in VIEWS],
            "status_choices": STATUS_CHOICES,
            "channels": channels,
            "reason_choices": [(k, label) for k, (label, _) in selectors.REASONS.items()],
            "reject_reasons": DraftAction.RejectReason.choices,
        }
    )
    return render(request, "drafts/queue.html", context)


@login_required
@require_GET
def queue_list(request: HttpRequest) -> HttpResponse:
    """The live part of the queue (polled every few seconds), with the header's count and the
    nav badges swapped out of band."""
    actor = _actor(request)
    people = workspace_people(workspace=actor.workspace)
    state = _queue_query(actor, request.GET, people)
    return render(
        request,
        "drafts/_queue_live.html",
        {**_list_context(request, actor, state, people), "oob": True},
    )


def _back(request: HttpRequest) -> str:
    return _safe_next(request, reverse("queue"))


def _row_response(
    request: HttpRequest,
    actor: Actor,
    draft_id: UUID,
    *,
    extra: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    draft = selectors.queue_row(workspace=actor.workspace, draft_id=draft_id)
    if draft is None:
        raise Http404("Not found.")
    row = QueueRow(draft=draft, hold=draft_hold_of(draft, actor.user), error=error)
    extra = extra or {}
    people = extra.get("people") or workspace_people(workspace=actor.workspace)
    context = {**extra, "row": row, "people": people}
    return render(request, "drafts/_queue_row.html", context, status=status)


@login_required
@require_POST
def queue_assign(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Give the row's conversation to a member (their email), or to nobody ("")."""
    actor = _actor(request)
    draft = selectors.queue_row(workspace=actor.workspace, draft_id=draft_id)
    if draft is None:
        raise Http404("Not found.")
    email = (request.POST.get("user_email") or "").strip() or None
    try:
        conversation_assign(
            workspace=actor.workspace,
            conversation_id=draft.conversation_id,
            user_email=email,
            by=actor.user,
        )
    except DomainError as exc:
        if _htmx(request):
            return _row_response(request, actor, draft_id, error=exc.message, status=exc.status)
        messages.error(request, exc.message)
        return redirect(_back(request))
    if _htmx(request):
        return _row_response(request, actor, draft_id)
    lead = draft.conversation.lead.display_name
    messages.success(
        request, f"{lead}'s conversation is now {'with ' + email if email else 'unassigned'}."
    )
    return redirect(_back(request))


@dataclass(frozen=True)
class Flash:
    """The queue's flash after an action: what happened, and an Undo while sends wait."""

    text: str
    kind: str = "success"  # success | error
    undo_ids: tuple[str, ...] = ()
    undo_until: datetime | None = None
    skipped: tuple[tuple[str, str], ...] = ()  # (lead name, why) per draft not decided


SKIP_WORDS = {404: "not found", 409: "already decided"}


def _why_skipped(result: BulkResult, action: str) -> str:
    if action == "undo" and result.code == 409:
        return "already sent" if result.error.startswith("Too late") else "nothing to undo"
    if result.code == 409 and result.error.startswith("Blocked"):
        return "blocked, open it to confirm"
    return SKIP_WORDS.get(result.code, result.error.rstrip(".").lower())


def bulk_flash(
    *, action: str, results: list[BulkResult], names: dict[str, str], until: datetime | None
) -> Flash:
    """ "18 approved, 2 skipped: already decided" and, for approvals inside the undo window,
    the ids an Undo stops."""
    done = [r.id for r in results if r.ok]
    skipped = [r for r in results if not r.ok]
    verb = {"approve": "approved", "reject": "rejected", "undo": "undone"}[action]
    parts = [f"{len(done)} {verb}"]
    if skipped:
        reasons = Counter(_why_skipped(r, action) for r in skipped)
        why = ", ".join(
            f"{n} {reason}" if len(reasons) > 1 else reason for reason, n in reasons.items()
        )
        parts.append(f"{len(skipped)} skipped: {why}")
    if len(results) == 1:  # one draft: name its lead
        name = names.get(results[0].id) or "the lead"
        text = {
            "approve": f"Reply to {name} approved.",
            "reject": f"Draft for {name} rejected. Nothing was sent.",
            "undo": f"Undone: the reply to {name} was not sent; the draft is back in the queue.",
        }[action]
        if skipped:
            why = _why_skipped(skipped[0], action)
            text = f"Not {verb}: {names.get(results[0].id) or 'draft'} — {why}."
    else:
        text = ", ".join(parts) + "."
        if action == "undo" and done:
            text += " Back in the queue, nothing was sent."
    waiting = tuple(done) if action == "approve" and until is not None else ()
    return Flash(
        text=text,
        kind="success" if done else "error",
        undo_ids=waiting,
        undo_until=until if waiting else None,
        skipped=tuple((names.get(r.id, r.id), _why_skipped(r, action)) for r in skipped),
    )


def _decide(
    request: HttpRequest, actor: Actor, action: str, ids: list[str], reason: str | None
) -> Flash:
    if action == "undo":
        results = drafts_bulk_undo(workspace=actor.workspace, user=actor.user, ids=ids)
    else:
        results = drafts_bulk_decide(
            workspace=actor.workspace,
            user=actor.user,
            action="approve" if action == "approve" else "reject",
            ids=ids,
            reason=reason,
        )
    done = [r.id for r in results if r.ok]
    until = (
        review_selectors.sends_waiting_until(workspace=actor.workspace, ids=done)
        if action == "approve" and done
        else None
    )
    names = selectors.drafts_lead_names(workspace=actor.workspace, ids=[r.id for r in results])
    return bulk_flash(action=action, results=results, names=names, until=until)


def _flash_response(request: HttpRequest, flash: Flash, *, status: int = 200) -> HttpResponse:
    """The flash (htmx; the live list then refreshes), or a redirect with it as a message."""
    if not _htmx(request):
        (messages.success if flash.kind == "success" else messages.error)(request, flash.text)
        return redirect(_back(request))
    response = render(request, "drafts/_queue_flash.html", {"flash": flash}, status=status)
    if status == 200:  # drafts changed: redraw the list (a refusal keeps the selection)
        response["HX-Trigger-After-Settle"] = "queue-refresh"
    return response


def _ids(request: HttpRequest) -> list[str]:
    return [i for i in request.POST.getlist("ids") if _uuid_or_none(i) is not None]


@login_required
@require_POST
def queue_bulk(request: HttpRequest) -> HttpResponse:
    """Approve or reject the selected rows (reject with one reason for all)."""
    actor = _actor(request)
    action = request.POST.get("action") or ""
    if action not in ("approve", "reject"):
        return _flash_response(
            request, Flash(text="Choose Approve or Reject.", kind="error"), status=400
        )
    try:
        flash = _decide(request, actor, action, _ids(request), request.POST.get("reason"))
    except DomainError as exc:
        return _flash_response(request, Flash(text=exc.message, kind="error"), status=exc.status)
    return _flash_response(request, flash)


@login_required
@require_POST
def queue_approve(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Approve one row as written (`a`): the row is redrawn, and the flash offers Undo."""
    actor = _actor(request)
    flash = _decide(request, actor, "approve", [str(draft_id)], None)
    if not _htmx(request):
        return _flash_response(request, flash)
    if flash.kind == "error":
        return _row_response(
            request, actor, draft_id, error=flash.skipped[0][1].capitalize(), status=409
        )
    # The header's count and the nav badges change with it, for the page the row is on.
    page_query = QueryDict(urlsplit(request.headers.get("HX-Current-URL", "")).query)
    people = workspace_people(workspace=actor.workspace)
    state = _queue_query(actor, page_query, people)
    count, oldest = selectors.queue_stats(workspace=actor.workspace, filters=_filters(actor, state))
    extra = {
        "people": people,
        "flash": flash,
        "row_oob": True,
        "state": state,
        "count": count,
        "oldest": oldest,
        "counts": selectors.nav_counts(workspace=actor.workspace, user=actor.user),
    }
    return _row_response(request, actor, draft_id, extra=extra)


@login_required
@require_POST
def queue_undo(request: HttpRequest) -> HttpResponse:
    """Undo approvals still inside their undo window: the drafts are pending again."""
    actor = _actor(request)
    try:
        flash = _decide(request, actor, "undo", _ids(request), None)
    except DomainError as exc:
        return _flash_response(request, Flash(text=exc.message, kind="error"), status=exc.status)
    return _flash_response(request, flash)
