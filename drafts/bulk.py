"""Bulk review: approve or reject many drafts with one reason, and undo many approvals.

Each draft still goes through the single-draft service (`draft_approve` / `draft_reject`),
one at a time in its own transaction, so each is decided once and audited exactly as if it
had been clicked; one draft's refusal (already decided, blocked) never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from drafts import selectors
from drafts.models import Draft
from drafts.review import (
    draft_approve,
    draft_needs_confirmation,
    draft_reject,
    draft_undo,
    reject_reason_parse,
)
from workspaces.errors import DomainError
from workspaces.models import Workspace

BULK_MAX = 200
BulkAction = Literal["approve", "reject"]


@dataclass(frozen=True)
class BulkResult:
    id: str
    ok: bool
    status: str | None  # the draft's status after this call (None: no such draft here)
    error: str = ""
    code: int = 200  # what the single-draft endpoint would have answered


def drafts_bulk_decide(
    *,
    workspace: Workspace,
    user: Any,
    action: BulkAction,
    ids: list[Any],
    reason: str | None = None,
    note: str = "",
) -> list[BulkResult]:
    """One result per distinct id, in the order given. A reject needs a reason (checked once,
    before anything changes). Blocked drafts are never approved in bulk: each needs its own
    confirmation on its page."""
    if action not in ("approve", "reject"):
        raise DomainError(
            "Unknown bulk action.",
            details=[{"field": "action", "message": "One of: approve, reject."}],
        )
    unique = list(dict.fromkeys(str(i) for i in ids))
    if not unique:
        raise DomainError(
            "Select at least one draft.", details=[{"field": "ids", "message": "Empty."}]
        )
    if len(unique) > BULK_MAX:
        raise DomainError(
            f"At most {BULK_MAX} drafts at once.",
            details=[{"field": "ids", "message": f"At most {BULK_MAX}."}],
        )
    parsed = reject_reason_parse(reason, note) if action == "reject" else None
    return [_decide_one(workspace, user, draft_id, action, parsed) for draft_id in unique]


def _decide_one(
    workspace: Workspace,
    user: Any,
    draft_id: str,
    action: BulkAction,
    parsed: tuple[str, str] | None,
) -> BulkResult:
    draft = selectors.draft_for_review(workspace=workspace, draft_id=draft_id)
    if draft is None:
        return BulkResult(id=draft_id, ok=False, status=None, error="Not found.", code=404)
    try:
        if action == "approve":
            if draft_needs_confirmation(draft):
                return BulkResult(
                    id=draft_id,
                    ok=False,
                    status=draft.status,
                    error="Blocked draft: open it and confirm to send it.",
                    code=409,
                )
            draft_approve(draft=draft, user=user)
        else:
            assert parsed is not None
            draft_reject(draft=draft, user=user, reason=parsed[0], note=parsed[1])
    except DomainError as exc:
        current = selectors.draft_status(workspace=workspace, draft_id=draft_id)
        return BulkResult(id=draft_id, ok=False, status=current, error=exc.message, code=exc.status)
    return BulkResult(
        id=draft_id,
        ok=True,
        status=selectors.draft_status(workspace=workspace, draft_id=draft_id),
    )


def drafts_bulk_undo(*, workspace: Workspace, user: Any, ids: list[Any]) -> list[BulkResult]:
    """Undo each approved reply still inside its undo window (the queue's "Undo" after an
    in-place or bulk approval), one `draft_undo` per draft, so each is undone at most once;
    one already sent (or undone) is a refusal for that id only."""
    unique = list(dict.fromkeys(str(i) for i in ids))
    if not unique:
        raise DomainError("Nothing to undo.", details=[{"field": "ids", "message": "Empty."}])
    if len(unique) > BULK_MAX:
        raise DomainError(
            f"At most {BULK_MAX} drafts at once.",
            details=[{"field": "ids", "message": f"At most {BULK_MAX}."}],
        )
    results = []
    for draft_id in unique:
        draft = selectors.draft_for_review(workspace=workspace, draft_id=draft_id)
        if draft is None:
            results.append(
                BulkResult(id=draft_id, ok=False, status=None, error="Not found.", code=404)
            )
            continue
        try:
            draft_undo(draft=draft, user=user)
        except DomainError as exc:
            current = selectors.draft_status(workspace=workspace, draft_id=draft_id)
            results.append(
                BulkResult(
                    id=draft_id, ok=False, status=current, error=exc.message, code=exc.status
                )
            )
            continue
        results.append(BulkResult(id=draft_id, ok=True, status=Draft.Status.PENDING))
    return results
