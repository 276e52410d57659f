"""Reads for the review pages and the API, with their joins and orderings decided once.

Pages of drafts are fetched as a "deferred join": the page's ids come from the narrow
(workspace, status, created_at) indexes alone, and only those rows are joined to their lead,
channel and message. Deep pages then cost an index walk, not a join per skipped row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, F, Func, IntegerField, Min, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Substr

from drafts.assignment import NOBODY, owned_by_q, unowned_q
from drafts.models import Draft, DraftAction, LearningSample, Message, Notification, Proposal
from drafts.search import drafts_matching
from workspaces.models import Channel, Workspace

S = Draft.Status
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
EXCERPT_CHARS = 160
PROPOSALS_PAGE_LIMIT = 300

# Queue filter "reason": why a draft is waiting for a human.
REASONS: dict[str, tuple[str, Q]] = {
    "blocked": ("Blocked", Q(auto_send_action=Draft.Action.BLOCK) | ~Q(blocked_reason="")),
    "held": (
        "Held by auto-send",
        Q(blocked_reason="") & (Q(auto_send_action=Draft.Action.REVIEW) | ~Q(held_reason="")),
    ),
    "not_evaluated": ("Auto-send off", Q(auto_send_action=Draft.Action.NONE, blocked_reason="")),
}


@dataclass(frozen=True)
class DraftFilters:
    status: str | None = S.PENDING  # None: every status
    channel_id: UUID | None = None
    reason: str | None = None
    q: str = ""  # search: lead name, email, phone, message and reply text
    assignee: int | str | None = None  # a user id, NOBODY, or None (anyone)


class _CountAll(Func):
    """COUNT(*) that Django does not treat as an aggregate (so it adds no GROUP BY)."""

    template = "COUNT(*)"
    output_field = IntegerField()


def _count(queryset: QuerySet[Any]) -> Subquery:
    """COUNT(*) of a queryset as a scalar subquery, to batch several counts in one query.
    COUNT(*) rather than COUNT(id) lets PostgreSQL answer from a partial index alone."""
    return Subquery(queryset.order_by().annotate(n=_CountAll()).values("n"))


def drafts_filtered(*, workspace: Workspace, filters: DraftFilters) -> QuerySet[Draft]:
    queryset = Draft.objects.filter(workspace=workspace)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.channel_id:
        queryset = queryset.filter(conversation__channel_id=filters.channel_id)
    if filters.reason in REASONS:
        queryset = queryset.filter(REASONS[filters.reason][1])
    if filters.assignee == NOBODY:
        queryset = queryset.filter(unowned_q())
    elif filters.assignee is not None:
        queryset = queryset.filter(owned_by_q(filters.assignee))
    if filters.q:
        queryset = drafts_matching(queryset, workspace_id=workspace.pk, q=filters.q)
    return queryset


def _list_rows(queryset: QuerySet[Draft], *, for_queue: bool) -> QuerySet[Draft]:
    """What a list shows of each draft: its lead, channel and holder, and for the queue short
    excerpts of the inbound message and the reply instead of their full text."""
    rows = queryset.select_related(
        "conversation__lead__assigned_to",
        "conversation__owner",
        "conversation__channel",
        "held_by",
        "auto_send_verdict",
    )
    if for_queue:
        rows = rows.annotate(
            inbound_excerpt=Substr("trigger_message__body_text", 1, EXCERPT_CHARS),
            lead_wrote_at=F("trigger_message__sent_at"),
            draft_excerpt=Substr("text", 1, EXCERPT_CHARS),
        ).defer("text", "original_text", "sources")
    return rows


def queue_row(*, workspace: Workspace, draft_id: Any) -> Draft | None:
    """One draft as the queue shows it (to redraw its row after an action)."""
    return _list_rows(
        Draft.objects.filter(workspace=workspace, pk=draft_id), for_queue=True
    ).first()


def drafts_stats(*, workspace: Workspace, filters: DraftFilters) -> tuple[int, datetime | None]:
    """How many drafts match, and when the oldest of them was made: one index-only scan."""
    base = drafts_filtered(workspace=workspace, filters=filters)
    stats = base.order_by().aggregate(count=Count("*"), oldest=Min("created_at"))
    return stats["count"] or 0, stats["oldest"]


def queue_stats(*, workspace: Workspace, filters: DraftFilters) -> tuple[int, datetime | None]:
    """How many drafts match, and when the lead wrote the message the oldest of them answers
    (the queue's "N waiting · oldest 3h": a lead's wait starts when they wrote, not when the
    draft was made)."""
    base = drafts_filtered(workspace=workspace, filters=filters)
    stats = base.order_by().aggregate(
        count=Count("*"), oldest=Min(Coalesce("trigger_message__sent_at", "created_at"))
    )
    return stats["count"] or 0, stats["oldest"]


def drafts_lead_names(*, workspace: Workspace, ids: list[str]) -> dict[str, str]:
    """Draft id → its lead's name, to say which drafts a bulk action skipped."""
    rows = Draft.objects.filter(workspace=workspace, pk__in=ids).values_list(
        "pk", "conversation__lead__name"
    )
    return {str(pk): name or "" for pk, name in rows}


def drafts_page(
    *,
    workspace: Workspace,
    filters: DraftFilters,
    offset: int,
    limit: int,
    newest_first: bool = False,
    for_queue: bool = False,
) -> list[Draft]:
    """One page of drafts in one query: the page's ids from the index, then only those rows
    joined to what a list shows."""
    base = drafts_filtered(workspace=workspace, filters=filters)
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    page_ids = base.order_by(*order).values("pk")[offset : offset + limit]
    rows = _list_rows(Draft.objects.filter(pk__in=Subquery(page_ids)), for_queue=for_queue)
    return list(rows.order_by(*order))


def draft_for_review(*, workspace: Workspace, draft_id: Any) -> Draft | None:
    """A draft of this workspace with everything the draft page shows alongside it."""
    try:
        return (
            Draft.objects.filter(workspace=workspace, pk=draft_id)
            .select_related(
                "conversation__lead__assigned_to",
                "conversation__owner",
                "conversation__channel",
                "trigger_message",
                "run",
                "held_by",
                "scheduled_send",
                "auto_send_verdict",
            )
            .first()
        )
    except (ValueError, TypeError):
        return None


def draft_status(*, workspace: Workspace, draft_id: Any) -> str | None:
    found = Draft.objects.filter(workspace=workspace, pk=draft_id).values_list("status", flat=True)
    return found.first()


def draft_thread(*, draft: Draft, limit: int = 50) -> list[Message]:
    """The conversation's latest messages up to the draft's trigger, oldest first."""
    messages = list(
        Message.objects.filter(conversation_id=draft.conversation_id)
        .select_related("sender_user")
        .prefetch_related("attachments")
        .order_by("-sent_at", "-id")[:limit]
    )
    messages.reverse()
    return messages


def draft_actions(*, draft: Draft) -> list[DraftAction]:
    actions = DraftAction.objects.filter(draft=draft).select_related("user")
    return list(actions.order_by("created_at"))


def channels_of(*, workspace: Workspace) -> list[Channel]:
    return list(Channel.objects.filter(workspace=workspace).order_by("kind", "name"))


def message_with_draft(*, workspace: Workspace, message_id: Any) -> Message | None:
    try:
        return (
            Message.objects.filter(workspace=workspace, pk=message_id)
            .select_related("reply_draft")
            .prefetch_related("attachments")
            .first()
        )
    except (ValueError, TypeError):
        return None


def proposals_for_review(
    *,
    workspace: Workspace,
    status: str | None,
    assigned_to: Any = None,
    limit: int = PROPOSALS_PAGE_LIMIT,
    offset: int = 0,
) -> list[Proposal]:
    """Proposals oldest first, with their lead, rep and decider."""
    queryset = Proposal.objects.filter(workspace=workspace)
    if status:
        queryset = queryset.filter(status=status)
    if assigned_to is not None:
        queryset = queryset.filter(lead__assigned_to=assigned_to)
    queryset = queryset.select_related("lead__assigned_to", "decided_by")
    return list(queryset.order_by("created_at", "id")[offset : offset + limit])


def proposals_of_batch(*, workspace: Workspace, batch_id: Any) -> list[Proposal]:
    queryset = Proposal.objects.filter(workspace=workspace, batch_id=batch_id)
    return list(
        queryset.select_related("lead__assigned_to", "decided_by").order_by("created_at", "id")
    )


@dataclass
class ProposalBatch:
    batch_id: UUID
    proposals: list[Proposal]

    @property
    def pending(self) -> list[Proposal]:
        return [p for p in self.proposals if p.status == Proposal.Status.PENDING]


@dataclass
class LeadProposals:
    lead: Any
    batches: list[ProposalBatch]


def proposals_grouped(proposals: list[Proposal]) -> list[LeadProposals]:
    """Group by lead, then batch, keeping the order of each group's oldest proposal."""
    leads: dict[Any, LeadProposals] = {}
    batches: dict[tuple[Any, UUID], ProposalBatch] = {}
    for proposal in proposals:
        group = leads.get(proposal.lead_id)
        if group is None:
            group = leads[proposal.lead_id] = LeadProposals(lead=proposal.lead, batches=[])
        key = (proposal.lead_id, proposal.batch_id)
        batch = batches.get(key)
        if batch is None:
            batch = batches[key] = ProposalBatch(batch_id=proposal.batch_id, proposals=[])
            group.batches.append(batch)
        batch.proposals.append(proposal)
    return list(leads.values())


def proposal_in_workspace(*, workspace: Workspace, proposal_id: Any) -> Proposal | None:
    try:
        return (
            Proposal.objects.filter(workspace=workspace, pk=proposal_id)
            .select_related("lead")
            .first()
        )
    except (ValueError, TypeError):
        return None


def notifications_for(*, workspace: Workspace, user: Any) -> QuerySet[Notification]:
    """Workspace-wide notifications and those addressed to this user, newest first."""
    return Notification.objects.filter(
        Q(user__isnull=True) | Q(user_id=user.pk), workspace=workspace
    ).order_by("-created_at", "-id")


def notification_rows(*, workspace: Workspace, user: Any) -> QuerySet[Notification]:
    """`notifications_for` as the bell and the notifications page show them: with the lead
    and channel of the draft (or message) each is about, and a short excerpt of the lead's
    message (`snippet`) rather than its full text."""
    return (
        notifications_for(workspace=workspace, user=user)
        .select_related(
            "draft__conversation__lead",
            "draft__conversation__channel",
            "message__conversation__lead",
            "message__conversation__channel",
        )
        .defer("draft__text", "draft__original_text", "message__body_text", "message__body_html")
        .annotate(
            snippet=Coalesce(
                Substr("draft__trigger_message__body_text", 1, EXCERPT_CHARS),
                Substr("message__body_text", 1, EXCERPT_CHARS),
            )
        )
    )


@dataclass(frozen=True)
class NavCounts:
    pending: int = 0
    oldest_pending: datetime | None = None
    proposals: int = 0
    unread: int = 0


def nav_counts(*, workspace: Workspace, user: Any) -> NavCounts:
    """Drafts waiting (and since when their oldest lead wrote), pending proposals and unread
    notifications, in one query of index-only counts (and one join for the oldest)."""
    pending = Draft.objects.filter(workspace=workspace, status=S.PENDING)
    row = (
        Workspace.objects.filter(pk=workspace.pk)
        .values(
            n_pending=_count(pending),
            oldest_pending=Subquery(  # when the lead wrote, as the queue's waiting times
                pending.annotate(wrote=Coalesce("trigger_message__sent_at", "created_at"))
                .order_by("wrote")
                .values("wrote")[:1]
            ),
            n_proposals=_count(
                Proposal.objects.filter(workspace=workspace, status=Proposal.Status.PENDING)
            ),
            n_unread=_count(
                notifications_for(workspace=workspace, user=user).filter(read_at__isnull=True)
            ),
        )
        .first()
    )
    if row is None:
        return NavCounts()
    return NavCounts(
        pending=row["n_pending"] or 0,
        oldest_pending=row["oldest_pending"],
        proposals=row["n_proposals"] or 0,
        unread=row["n_unread"] or 0,
    )


def learning_samples_iter(
    *,
    workspace: Workspace | None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_size: int = 500,
) -> Iterator[LearningSample]:
    """Every matching sample, oldest first, fetched in keyset batches (no long-lived cursor,
    constant memory however many there are)."""
    queryset = LearningSample.objects.all()
    if workspace is not None:
        queryset = queryset.filter(workspace=workspace)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    queryset = queryset.order_by("created_at", "id")
    last: tuple[datetime, UUID] | None = None
    while True:
        batch_qs = queryset
        if last is not None:
            batch_qs = batch_qs.filter(
                Q(created_at__gt=last[0]) | Q(created_at=last[0], id__gt=last[1])
            )
        batch = list(batch_qs[:batch_size])
        yield from batch
        if len(batch) < batch_size:
            return
        last = (batch[-1].created_at, batch[-1].id)


def learning_sample_json(sample: LearningSample) -> dict[str, Any]:
    return {
        "id": str(sample.id),
        "workspace_id": str(sample.workspace_id),
        "draft_id": str(sample.draft_id),
        "lead_id": str(sample.lead_id),
        "channel_id": str(sample.channel_id),
        "original": sample.original,
        "final": sample.final,
        "diff": sample.diff,
        "stage": sample.stage,
        "prompt_key": sample.prompt_key,
        "prompt_version": sample.prompt_version,
        "created_at": sample.created_at.isoformat(),
    }
