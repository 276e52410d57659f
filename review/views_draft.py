"""The draft page and what an operator does on it: approve (a blocked draft only after they
confirm why it was blocked), reject and then write the reply themselves, undo a send still
inside its window, assign the conversation, and hold the draft while the page is open.

Like the other pages: views parse, scope to the session's workspace (another workspace's id
is a 404) and call one service; forms work without JavaScript (post, then redirect back),
refusals come back as the page with their 4xx status and the reason next to what caused it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from drafts import selectors
from drafts.assignment import conversation_assign
from drafts.handwritten import draft_reply_handwritten, newer_inbound_since, replied_since
from drafts.models import Draft, DraftAction
from drafts.review import (
    Approval,
    Hold,
    draft_approve,
    draft_approve_check_confirmed,
    draft_hold,
    draft_hold_of,
    draft_hold_release,
    draft_needs_confirmation,
    draft_reject,
    draft_undo,
    reject_reason_parse,
)
from drafts.views import _actor, _htmx, _queue_row_response, _safe_next
from pipeline.models import Stage
from review import selectors as review_selectors
from review.draft_page import (
    blocked_explanation,
    lead_panel,
    next_pending_draft_id,
    run_summary,
    send_waiting,
    workspace_threshold,
)
from workspaces.context import Actor
from workspaces.errors import DomainError

STAGE_LABELS = dict(Stage.choices)


def _artifact_confidence(stage: str, payload: Any) -> float | None:
    """An evaluation's confidence, shown on its timeline row."""
    if stage != Stage.EVALUATION or not isinstance(payload, dict):
        return None
    value = payload.get("confidence")
    return float(value) if isinstance(value, int | float) else None


def _draft_or_404(actor: Actor, draft_id: UUID) -> Draft:
    draft = selectors.draft_for_review(workspace=actor.workspace, draft_id=draft_id)
    if draft is None:
        raise Http404("Not found.")
    return draft


def _render_draft(
    request: HttpRequest,
    actor: Actor,
    draft: Draft,
    hold: Hold | None,
    *,
    status: int = 200,
    error: str = "",
    error_for: str = "",
    text: str | None = None,
) -> HttpResponse:
    lead = draft.conversation.lead
    artifacts = review_selectors.draft_artifacts(draft=draft)
    rejected = draft.status == Draft.Status.REJECTED
    waiting = send_waiting(getattr(draft, "scheduled_send", None))
    return render(
        request,
        "drafts/detail.html",
        {
            "actor": actor,
            "draft": draft,
            "lead": lead,
            "channel": draft.conversation.channel,
            "panel": lead_panel(draft=draft),
            "summary": run_summary(draft=draft, threshold=workspace_threshold(draft.workspace_id)),
            "thread": selectors.draft_thread(draft=draft),
            "artifacts": [
                (a, STAGE_LABELS.get(a.stage, a.stage), _artifact_confidence(a.stage, a.payload))
                for a in artifacts
            ],
            "tokens_in": sum(a.input_tokens or 0 for a in artifacts),
            "tokens_out": sum(a.output_tokens or 0 for a in artifacts),
            "latency_ms": sum(a.latency_ms or 0 for a in artifacts),
            "models": sorted({a.model for a in artifacts if a.model}),
            "actions": selectors.draft_actions(draft=draft),
            "send": getattr(draft, "scheduled_send", None),
            "waiting": waiting,
            "undo_left": _seconds_until(waiting.run_at) if waiting else 0,
            "hold": hold,
            "editable": draft.status == Draft.Status.PENDING,
            "needs_confirmation": draft_needs_confirmation(draft),
            "blocked_why": blocked_explanation(draft.blocked_reason),
            "confirm_checked": bool(request.POST.get("confirm_blocked")),
            "newer": newer_inbound_since(draft) if rejected else None,
            "replied": replied_since(draft) if rejected else False,
            "reply_text": (text or "") if error_for == "reply" else "",
            "next_id": next_pending_draft_id(draft=draft),
            "text": draft.text if text is None or error_for == "reply" else text,
            "error": error,
            "error_for": error_for,
            "reasons": DraftAction.RejectReason.choices,
            "chosen_reason": request.POST.get("reason", ""),
            "note": request.POST.get("note", ""),
        },
        status=status,
    )


def _refused(
    request: HttpRequest, actor: Actor, draft_id: UUID, exc: DomainError, **kwargs: Any
) -> HttpResponse:
    """The page again, fresh from the database, with the refusal next to its form."""
    draft = _draft_or_404(actor, draft_id)
    hold = draft_hold_of(draft, actor.user)
    return _render_draft(
        request, actor, draft, hold, status=exc.status, error=exc.message, **kwargs
    )


def _seconds_until(when: datetime) -> int:
    return max(0, round((when - timezone.now()).total_seconds()))


def _sending_in(approval: Approval) -> str:
    seconds = _seconds_until(approval.send.run_at)
    return f" It goes out in {seconds} s: Undo stops it until then." if seconds else ""


@login_required
@require_GET
def draft_detail(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Opening a pending draft takes (or renews) the reviewer's hold on it."""
    actor = _actor(request)
    draft = _draft_or_404(actor, draft_id)
    hold = (
        draft_hold(draft=draft, user=actor.user) if draft.status == Draft.Status.PENDING else None
    )
    return _render_draft(request, actor, draft, hold)


@login_required
@require_POST
def draft_hold_renew(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Renewed by the open draft page every few minutes (static/js/draft.js)."""
    actor = _actor(request)
    draft = _draft_or_404(actor, draft_id)
    hold = draft_hold(draft=draft, user=actor.user)
    return render(request, "drafts/_hold.html", {"hold": hold, "draft": draft})


@login_required
@require_POST
def draft_hold_release_view(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Sent by the page as it is left (navigator.sendBeacon, with the CSRF token in the
    form body). Names the hold the page showed, so a late beacon cannot free a newer one."""
    actor = _actor(request)
    draft = _draft_or_404(actor, draft_id)
    try:
        until = datetime.fromisoformat(request.POST.get("until", ""))
    except ValueError:
        return HttpResponse(status=400)
    draft_hold_release(draft=draft, user=actor.user, until=until)
    return HttpResponse(status=204)


@login_required
@require_POST
def draft_approve_view(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Approve (as written or edited). A draft the gate blocked needs `confirm_blocked`:
    the page asks for it next to the reason; the queue's one-key approve is refused."""
    actor = _actor(request)
    draft = _draft_or_404(actor, draft_id)
    text = request.POST.get("text")
    try:
        draft_approve_check_confirmed(
            draft=draft, confirmed=request.POST.get("confirm_blocked") in ("1", "on", "true")
        )
        approval = draft_approve(draft=draft, user=actor.user, text=text)
    except DomainError as exc:
        if _htmx(request):
            return _queue_row_response(
                request, actor, draft.pk, error=exc.message, status=exc.status
            )
        return _refused(request, actor, draft.pk, exc, error_for="approve", text=text)
    if _htmx(request):
        return _queue_row_response(request, actor, draft.pk)
    edited = "edited and " if text is not None and draft.text != text else ""
    messages.success(
        request,
        f"Reply to {draft.conversation.lead.display_name} {edited}approved: it is on its way."
        + _sending_in(approval),
    )
    return redirect(_safe_next(request, reverse("queue")))


@login_required
@require_POST
def draft_reject_view(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    actor = _actor(request)
    draft = _draft_or_404(actor, draft_id)
    try:
        reason, note = reject_reason_parse(request.POST.get("reason"), request.POST.get("note", ""))
        draft_reject(draft=draft, user=actor.user, reason=reason, note=note)
    except DomainError as exc:
        return _refused(request, actor, draft.pk, exc, error_for="reject")
    messages.success(
        request, f"Draft for {draft.conversation.lead.display_name} rejected. Nothing was sent."
    )
    return redirect(_safe_next(request, reverse("queue")))


@login_required
@require_POST
def draft_undo_view(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Stop the send inside its window: the draft is back in review, on this page."""
    actor = _actor(request)
    draft = _draft_or_404(actor, draft_id)
    try:
        draft_undo(draft=draft, user=actor.user)
    except DomainError as exc:
        return _refused(request, actor, draft.pk, exc, error_for="undo")
    messages.success(
        request,
        f"Undone: nothing was sent to {draft.conversation.lead.display_name}. "
        "The draft is back in review.",
    )
    return redirect("draft-detail", draft_id=draft.pk)


@login_required
@require_POST
def draft_reply_view(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """After a reject: the operator's own reply, sent like an edited approval."""
    actor = _actor(request)
    draft = _draft_or_404(actor, draft_id)
    text = request.POST.get("reply_text", "")
    try:
        approval = draft_reply_handwritten(draft=draft, user=actor.user, text=text)
    except DomainError as exc:
        return _refused(request, actor, draft.pk, exc, error_for="reply", text=text)
    messages.success(
        request,
        f"Your reply to {draft.conversation.lead.display_name} is on its way."
        + _sending_in(approval),
    )
    return redirect("draft-detail", draft_id=draft.pk)


@login_required
@require_POST
def draft_assign_view(request: HttpRequest, draft_id: UUID) -> HttpResponse:
    """Give the draft's conversation to a member (by email), or to nobody ("")."""
    actor = _actor(request)
    draft = _draft_or_404(actor, draft_id)
    email = request.POST.get("user_email", "").strip()
    try:
        assignment = conversation_assign(
            workspace=actor.workspace,
            conversation_id=draft.conversation_id,
            user_email=email or None,
            by=actor.user,
        )
    except DomainError as exc:
        return _refused(request, actor, draft.pk, exc, error_for="assign")
    owner = assignment.owner
    who = getattr(owner, "email", "") or getattr(owner, "username", "") if owner else "nobody"
    messages.success(
        request,
        f"Conversation assigned to {who}." if assignment.changed else f"Already with {who}.",
    )
    return redirect("draft-detail", draft_id=draft.pk)
