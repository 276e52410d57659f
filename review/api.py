"""REST endpoints of the drafts app (mounted under /api/v1/ by config/api.py): messages,
drafts and their review, lead-profile proposals, notifications and the learning-sample export.

Each handler parses, scopes to the caller's workspace (another workspace's id is a 404) and
calls one service or selector.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Body, Query, Router, Schema
from pydantic import Field

from autosend.shadow import verdict_out
from drafts import selectors
from drafts.assignment import assignee_parse, conversation_owner
from drafts.models import Draft, DraftAction, Notification, Proposal
from drafts.proposals import proposal_accept, proposal_batch_decide, proposal_reject
from drafts.review import (
    draft_approve,
    draft_reject,
    notification_mark_read,
    reject_reason_parse,
)
from review import selectors as review_selectors
from workspaces.context import API_AUTH, actor_of
from workspaces.errors import NotFound
from workspaces.jobs import job_run
from workspaces.models import JobType

router = Router(tags=["drafts"], auth=API_AUTH)

DraftStatus = Literal["pending", "scheduled", "sent", "rejected", "superseded"]
ProposalStatus = Literal["pending", "accepted", "rejected"]


# --- Schemas -------------------------------------------------------------------------------


class AttachmentOut(Schema):
    file_name: str
    mime_type: str
    size_bytes: int | None
    url: str


class MessageOut(Schema):
    id: UUID
    conversation_id: UUID
    channel_id: UUID
    lead_id: UUID
    direction: str
    sender_kind: str
    external_id: str
    subject: str
    body_text: str
    sent_at: datetime
    received_at: datetime
    draft_id: UUID | None
    attachments: list[AttachmentOut]


class LeadOut(Schema):
    id: UUID
    external_id: str
    name: str
    email: str
    phone: str
    company: str
    title: str
    timezone: str
    assigned_to_id: int | None


class ChannelOut(Schema):
    id: UUID
    kind: str
    name: str


class AutoSendOut(Schema):
    action: str
    confidence: float | None
    original_confidence: float | None
    final_confidence: float | None
    revision_applied: bool
    revision_iterations: int
    blocked_reason: str
    held_reason: str
    would_send: bool | None = Field(
        None,
        description="Whether auto-send would send it (or did decide to): confident at the "
        "threshold, not blocked or held, every check passed. Set for every evaluated draft, "
        "whether or not auto-send is on; null before a verdict.",
    )
    reason: str | None = Field(None, description="Why, in words for people.")
    reason_code: str | None = Field(
        None,
        description="confident, blocked, held, below_threshold, check_failed or evaluation_error.",
    )
    shadow: bool | None = Field(
        None, description="True when auto-send did not act on it (off, or the kill switch)."
    )


class HoldOut(Schema):
    user: str
    until: datetime


class OwnerOut(Schema):
    id: int
    email: str


class DraftOut(Schema):
    id: UUID
    status: str
    text: str
    lead: LeadOut
    channel: ChannelOut
    conversation_id: UUID
    trigger_message_id: UUID
    auto_send: AutoSendOut
    sources: list[Any]
    hold: HoldOut | None
    owner: OwnerOut | None = Field(
        None, description="Who owns the conversation: its assignee, else the lead's rep."
    )
    created_at: datetime
    updated_at: datetime


class DraftListOut(Schema):
    items: list[DraftOut]
    count: int


class ArtifactOut(Schema):
    stage: str
    iteration: int
    prompt_key: str
    prompt_version: str
    model: str
    latency_ms: int
    input_tokens: int
    output_tokens: int
    payload: Any
    text: str
    created_at: datetime


class RunOut(Schema):
    id: UUID
    status: str
    provider: str
    started_at: datetime
    finished_at: datetime | None


class ActionOut(Schema):
    id: UUID
    kind: str
    user: str
    final_text: str
    diff: list[Any]
    reason: str
    note: str
    created_at: datetime


class SendOut(Schema):
    id: UUID
    status: str
    origin: str
    run_at: datetime


class DraftDetailOut(DraftOut):
    original_text: str
    run: RunOut | None
    artifacts: list[ArtifactOut]
    actions: list[ActionOut]
    scheduled_send: SendOut | None


class ApprovalOut(DraftOut):
    action: ActionOut
    scheduled_send: SendOut


class RejectionOut(DraftOut):
    action: ActionOut


class ApproveIn(Schema):
    text: str | None = Field(None, description="The reply to send; omit to send the draft as is.")


class RejectIn(Schema):
    reason: str | None = Field(
        None,
        description="wrong_facts, wrong_tone, should_not_reply or other; any other words are "
        "kept as the note of an `other` rejection.",
    )
    note: str = ""


class ProposalOut(Schema):
    id: UUID
    lead_id: UUID
    lead_name: str
    assigned_to_id: int | None
    batch_id: UUID
    message_id: UUID | None
    field: str
    proposed_value: str
    current_value: str
    previous_value: str
    applied_value: str
    source_text: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


class ProposalListOut(Schema):
    items: list[ProposalOut]
    count: int


class ProposalEditIn(Schema):
    value: str


class NotificationOut(Schema):
    id: UUID
    kind: str
    title: str
    draft_id: UUID | None
    message_id: UUID | None
    read_at: datetime | None
    created_at: datetime


class NotificationListOut(Schema):
    items: list[NotificationOut]
    count: int


# --- Shaping -------------------------------------------------------------------------------


def _user_label(user: Any) -> str:
    return str(user.email or user.username) if user is not None else ""


def draft_out(draft: Draft) -> dict[str, Any]:
    lead = draft.conversation.lead
    channel = draft.conversation.channel
    hold = None
    if draft.held_by_id and draft.held_until and draft.held_until >= timezone.now():
        hold = {"user": _user_label(draft.held_by), "until": draft.held_until}
    return {
        "id": draft.pk,
        "status": draft.status,
        "text": draft.text,
        "lead": {
            "id": lead.pk,
            "external_id": lead.external_id,
            "name": lead.name,
            "email": lead.email,
            "phone": lead.phone,
            "company": lead.company,
            "title": lead.title,
            "timezone": lead.timezone,
            "assigned_to_id": lead.assigned_to_id,
        },
        "channel": {"id": channel.pk, "kind": channel.kind, "name": channel.name},
        "conversation_id": draft.conversation_id,
        "trigger_message_id": draft.trigger_message_id,
        "auto_send": {
            "action": draft.auto_send_action,
            "confidence": draft.auto_send_confidence,
            "original_confidence": draft.original_confidence,
            "final_confidence": draft.final_confidence,
            "revision_applied": draft.revision_applied,
            "revision_iterations": draft.revision_iterations,
            "blocked_reason": draft.blocked_reason,
            "held_reason": draft.held_reason,
            **verdict_out(draft),
        },
        "sources": draft.sources or [],
        "hold": hold,
        "owner": _owner_out(conversation_owner(draft.conversation)),
        "created_at": draft.created_at,
        "updated_at": draft.updated_at,
    }


def _owner_out(user: Any) -> dict[str, Any] | None:
    return {"id": user.pk, "email": _user_label(user)} if user is not None else None


def action_out(action: DraftAction) -> dict[str, Any]:
    return {
        "id": action.pk,
        "kind": action.kind,
        "user": _user_label(action.user),
        "final_text": action.final_text,
        "diff": action.diff,
        "reason": action.reason,
        "note": action.note,
        "created_at": action.created_at,
    }


def _send_out(send: Any) -> dict[str, Any] | None:
    if send is None:
        return None
    return {"id": send.pk, "status": send.status, "origin": send.origin, "run_at": send.run_at}


def _proposal_out(proposal: Proposal) -> dict[str, Any]:
    lead = proposal.lead
    return {
        "id": proposal.pk,
        "lead_id": proposal.lead_id,
        "lead_name": lead.display_name,
        "assigned_to_id": lead.assigned_to_id,
        "batch_id": proposal.batch_id,
        "message_id": proposal.message_id,
        "field": proposal.field,
        "proposed_value": proposal.proposed_value,
        "current_value": getattr(lead, proposal.field, "") or "",
        "previous_value": proposal.previous_value,
        "applied_value": proposal.applied_value,
        "source_text": proposal.source_text,
        "status": proposal.status,
        "decided_by": _user_label(proposal.decided_by) if proposal.decided_by_id else None,
        "decided_at": proposal.decided_at,
        "created_at": proposal.created_at,
    }


def draft_or_404(request: HttpRequest, draft_id: UUID) -> Draft:
    draft = selectors.draft_for_review(workspace=actor_of(request).workspace, draft_id=draft_id)
    if draft is None:
        raise NotFound("Not found.")
    return draft


def _proposal_or_404(request: HttpRequest, proposal_id: UUID) -> Proposal:
    proposal = selectors.proposal_in_workspace(
        workspace=actor_of(request).workspace, proposal_id=proposal_id
    )
    if proposal is None:
        raise NotFound("Not found.")
    return proposal


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


# --- Messages and drafts -------------------------------------------------------------------


@router.get("/messages/{message_id}", response=MessageOut)
def message_get(request: HttpRequest, message_id: UUID) -> dict[str, Any]:
    message = selectors.message_with_draft(
        workspace=actor_of(request).workspace, message_id=message_id
    )
    if message is None:
        raise NotFound("Not found.")
    reply = getattr(message, "reply_draft", None)
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "channel_id": message.channel_id,
        "lead_id": message.lead_id,
        "direction": message.direction,
        "sender_kind": message.sender_kind,
        "external_id": message.external_id,
        "subject": message.subject,
        "body_text": message.body_text,
        "sent_at": message.sent_at,
        "received_at": message.received_at,
        # An inbound message's reply draft; an outbound one's source draft.
        "draft_id": reply.pk if reply is not None else message.draft_id,
        "attachments": list(message.attachments.all()),
    }


@router.get("/drafts", response=DraftListOut)
def drafts_list(
    request: HttpRequest,
    status: DraftStatus | None = None,
    q: str = Query("", max_length=200, description="Lead name, email, phone or text."),
    assignee: str = Query("", description="`me`, `none` (unassigned) or a member's email."),
    limit: int = Query(selectors.PAGE_SIZE_DEFAULT, ge=1, le=selectors.PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """Drafts of the workspace, oldest first (stable under offset paging as new ones arrive),
    optionally searched (`q`) and narrowed to an owner (`assignee`)."""
    actor = actor_of(request)
    workspace = actor.workspace
    filters = selectors.DraftFilters(
        status=status, q=q, assignee=assignee_parse(actor=actor, value=assignee)
    )
    count, _ = selectors.drafts_stats(workspace=workspace, filters=filters)
    items = selectors.drafts_page(workspace=workspace, filters=filters, offset=offset, limit=limit)
    return {"items": [draft_out(d) for d in items], "count": count}


@router.get("/drafts/{draft_id}", response=DraftDetailOut)
def draft_get(request: HttpRequest, draft_id: UUID) -> dict[str, Any]:
    draft = draft_or_404(request, draft_id)
    run = draft.run
    return {
        **draft_out(draft),
        "original_text": draft.original_text,
        "run": run,
        "artifacts": review_selectors.draft_artifacts(draft=draft),
        "actions": [action_out(a) for a in selectors.draft_actions(draft=draft)],
        "scheduled_send": _send_out(getattr(draft, "scheduled_send", None)),
    }


@router.post("/drafts/{draft_id}/approve", response=ApprovalOut)
def draft_approve_api(
    request: HttpRequest, draft_id: UUID, payload: Annotated[ApproveIn | None, Body()] = None
) -> dict[str, Any]:
    """Send the draft (edited when `text` differs: a diff and a learning sample are kept).
    409 if it is no longer pending: a second approval never sends twice."""
    draft = draft_or_404(request, draft_id)
    approval = draft_approve(
        draft=draft, user=actor_of(request).user, text=payload.text if payload else None
    )
    fresh = draft_or_404(request, draft_id)
    return {
        **draft_out(fresh),
        "action": action_out(approval.action),
        "scheduled_send": _send_out(approval.send),
    }


@router.post("/drafts/{draft_id}/reject", response=RejectionOut)
def draft_reject_api(request: HttpRequest, draft_id: UUID, payload: RejectIn) -> dict[str, Any]:
    draft = draft_or_404(request, draft_id)
    reason, note = reject_reason_parse(payload.reason, payload.note)
    action = draft_reject(draft=draft, user=actor_of(request).user, reason=reason, note=note)
    return {**draft_out(draft_or_404(request, draft_id)), "action": action_out(action)}


# --- Proposals -----------------------------------------------------------------------------


@router.get("/proposals", response=ProposalListOut)
def proposals_list(
    request: HttpRequest,
    status: ProposalStatus | None = None,
    limit: int = Query(selectors.PAGE_SIZE_DEFAULT, ge=1, le=selectors.PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    workspace = actor_of(request).workspace
    items = selectors.proposals_for_review(
        workspace=workspace, status=status, limit=limit, offset=offset
    )
    count = Proposal.objects.filter(workspace=workspace)
    if status:
        count = count.filter(status=status)
    return {"items": [_proposal_out(p) for p in items], "count": count.count()}


@router.post("/proposals/batches/{batch_id}/accept", response=ProposalListOut)
def proposal_batch_accept_api(request: HttpRequest, batch_id: UUID) -> dict[str, Any]:
    actor = actor_of(request)
    decided = proposal_batch_decide(
        workspace=actor.workspace, batch_id=batch_id, user=actor.user, accept=True
    )
    return {"items": [_proposal_out(p) for p in decided], "count": len(decided)}


@router.post("/proposals/batches/{batch_id}/reject", response=ProposalListOut)
def proposal_batch_reject_api(request: HttpRequest, batch_id: UUID) -> dict[str, Any]:
    actor = actor_of(request)
    decided = proposal_batch_decide(
        workspace=actor.workspace, batch_id=batch_id, user=actor.user, accept=False
    )
    return {"items": [_proposal_out(p) for p in decided], "count": len(decided)}


@router.post("/proposals/{proposal_id}/accept", response=ProposalOut)
def proposal_accept_api(request: HttpRequest, proposal_id: UUID) -> dict[str, Any]:
    proposal = _proposal_or_404(request, proposal_id)
    return _proposal_out(proposal_accept(proposal=proposal, user=actor_of(request).user))


@router.post("/proposals/{proposal_id}/edit", response=ProposalOut)
def proposal_edit_api(
    request: HttpRequest, proposal_id: UUID, payload: ProposalEditIn
) -> dict[str, Any]:
    """Accept the proposal with the rep's corrected value."""
    proposal = _proposal_or_404(request, proposal_id)
    accepted = proposal_accept(proposal=proposal, user=actor_of(request).user, value=payload.value)
    return _proposal_out(accepted)


@router.post("/proposals/{proposal_id}/reject", response=ProposalOut)
def proposal_reject_api(request: HttpRequest, proposal_id: UUID) -> dict[str, Any]:
    proposal = _proposal_or_404(request, proposal_id)
    return _proposal_out(proposal_reject(proposal=proposal, user=actor_of(request).user))


# --- Notifications and learning samples ----------------------------------------------------


@router.get("/notifications", response=NotificationListOut)
def notifications_list(
    request: HttpRequest,
    unread: bool = False,
    limit: int = Query(selectors.PAGE_SIZE_DEFAULT, ge=1, le=selectors.PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    actor = actor_of(request)
    queryset = selectors.notifications_for(workspace=actor.workspace, user=actor.user)
    if unread:
        queryset = queryset.filter(read_at__isnull=True)
    return {"items": list(queryset[offset : offset + limit]), "count": queryset.count()}


@router.post("/notifications/{notification_id}/read", response=NotificationOut)
def notification_read_api(request: HttpRequest, notification_id: UUID) -> Notification:
    actor = actor_of(request)
    return notification_mark_read(
        workspace=actor.workspace, user=actor.user, notification_id=notification_id
    )


@router.get(
    "/learning-samples.jsonl",
    response={200: None},
    openapi_extra={
        "responses": {
            200: {
                "description": "One JSON object per line.",
                "content": {"application/x-ndjson": {}},
            }
        }
    },
)
def learning_samples_export(
    request: HttpRequest, since: datetime | None = None, until: datetime | None = None
) -> StreamingHttpResponse:
    """The workspace's learning samples (original, final, diff, lead/channel ids), one JSON
    object per line, oldest first; `since` inclusive, `until` exclusive."""
    workspace = actor_of(request).workspace
    samples = selectors.learning_samples_iter(
        workspace=workspace, since=_aware(since), until=_aware(until)
    )

    def lines() -> Iterator[str]:
        # Recorded as a JobRun while the response streams; a client that goes away
        # before the end leaves it failed (GeneratorExit).
        with job_run(type=JobType.LEARNING_SAMPLE_EXPORT, workspace=workspace) as job:
            for sample in samples:
                job.add("rows_processed")
                yield json.dumps(selectors.learning_sample_json(sample), ensure_ascii=False) + "\n"

    response = StreamingHttpResponse(lines(), content_type="application/x-ndjson")
    response["Content-Disposition"] = 'inline; filename="learning-samples.jsonl"'
    return response
