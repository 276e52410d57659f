"""REST endpoints for working the queue at speed (mounted under /api/v1/ by config/api.py):
assign a draft's conversation, decide many drafts at once, undo a send still waiting.

Each handler parses, scopes to the caller's workspace (another workspace's id is a 404) and
calls one service.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from drafts.assignment import conversation_assign
from drafts.bulk import BULK_MAX, drafts_bulk_decide
from drafts.review import draft_undo
from review.api import ActionOut, DraftOut, action_out, draft_or_404, draft_out
from workspaces.context import API_AUTH, actor_of

router = Router(tags=["queue"], auth=API_AUTH)


class AssignIn(Schema):
    user_email: str | None = Field(
        ..., description="A member's email, or null to leave the conversation unassigned."
    )


class BulkIn(Schema):
    action: Literal["approve", "reject"]
    ids: list[UUID] = Field(..., min_length=1, max_length=BULK_MAX)
    reason: str | None = Field(
        None, description="For reject: wrong_facts, wrong_tone, should_not_reply or other."
    )
    note: str = ""


class BulkItemOut(Schema):
    id: str
    ok: bool
    status: str | None
    error: str
    code: int


class BulkOut(Schema):
    results: list[BulkItemOut]
    succeeded: int
    failed: int


class UndoOut(DraftOut):
    action: ActionOut


@router.post("/drafts/bulk", response=BulkOut)
def drafts_bulk_api(request: HttpRequest, payload: BulkIn) -> dict[str, Any]:
    """Approve or reject each draft as the single-draft endpoints would, one result per id
    (`ok`, the draft's `status` now, and on refusal `error` and the `code` it would have had).
    Blocked drafts are never approved in bulk."""
    actor = actor_of(request)
    results = drafts_bulk_decide(
        workspace=actor.workspace,
        user=actor.user,
        action=payload.action,
        ids=payload.ids,
        reason=payload.reason,
        note=payload.note,
    )
    succeeded = sum(1 for r in results if r.ok)
    return {
        "results": [r.__dict__ for r in results],
        "succeeded": succeeded,
        "failed": len(results) - succeeded,
    }


@router.post("/drafts/{draft_id}/assign", response=DraftOut)
def draft_assign_api(request: HttpRequest, draft_id: UUID, payload: AssignIn) -> dict[str, Any]:
    """Give the draft's conversation to a member (`user_email`), or to nobody (null)."""
    actor = actor_of(request)
    draft = draft_or_404(request, draft_id)
    conversation_assign(
        workspace=actor.workspace,
        conversation_id=draft.conversation_id,
        user_email=payload.user_email,
        by=actor.user,
    )
    return draft_out(draft_or_404(request, draft_id))


@router.post("/drafts/{draft_id}/undo", response=UndoOut)
def draft_undo_api(request: HttpRequest, draft_id: UUID) -> dict[str, Any]:
    """Stop a reply that has not gone out yet; the draft is pending again. 409 once sent (or
    when there is nothing waiting to be sent)."""
    draft = draft_or_404(request, draft_id)
    action = draft_undo(draft=draft, user=actor_of(request).user)
    return {**draft_out(draft_or_404(request, draft_id)), "action": action_out(action)}
