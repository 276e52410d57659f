"""Message retention: a workspace that sets `message_retention_days` has the text of its old,
closed conversations erased, while everything analytics and audit need stays.

Closed: a conversation none of whose messages was sent or received within the retention
period. This job is what closes them (`Conversation.status` open → closed), once a day, just
before it erases; a message arriving later makes the conversation recent again, and nothing
of it is erased until it has been quiet for the whole period once more.

Erased, in fixed-size batches of messages (one transaction each):
- each message's `subject`, `body_text` and `body_html`: the text becomes a marker with the
  erase time ("[erased 2026-11-22T10:00:00Z]"), the rest empty, `body_erased_at` set;
- the raw webhook body stored for it (`InboundEvent.body`: the same text, plus the lead's
  details as the sender sent them), replaced by the marker;
- the excerpt a proposal quoted from it (`Proposal.source_text`);
- the context pack its pipeline run kept (`PipelineRun.context_pack`: the thread's text),
  which pipeline erases on `drafts.signals.messages_erased`, in the same transaction;
- the conversation's subject.
Kept: every id, timestamp, direction, sender and external id; attachments' metadata; drafts,
review actions, learning samples and scheduled sends (what the AI and operators wrote: the
audit and learning record, and the quality figures read them); run artifacts and AI
telemetry (expire with DRAFT_PIPELINE_RUN_RETENTION_DAYS / numbers only); response-timing
events; lead profiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from drafts.models import Conversation, InboundEvent, Message, Proposal
from drafts.signals import messages_erased_send
from workspaces.jobs import job_run
from workspaces.models import JobType, Workspace, WorkspaceSettings

RETENTION_BATCH_SIZE = 500
# Batches per task run; a workspace with more left queues the task again.
RETENTION_MAX_BATCHES = 20


def erase_marker(moment: datetime) -> str:
    """What an erased message's text becomes."""
    return f"[erased {moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}]"


def retention_cutoff(*, days: int, now: datetime) -> datetime:
    return now - timedelta(days=days)


def _recent_message(cutoff: datetime) -> Exists:
    """The outer conversation has a message sent or received since `cutoff` (the later of the
    two counts, so neither a sender's clock nor ours erases early)."""
    return Exists(
        Message.objects.filter(conversation_id=OuterRef("pk")).filter(
            Q(sent_at__gte=cutoff) | Q(received_at__gte=cutoff)
        )
    )


def conversations_close_idle(*, workspace: Workspace, cutoff: datetime) -> int:
    """Close the workspace's open conversations with no message since `cutoff`."""
    return (
        Conversation.objects.filter(workspace=workspace, status=Conversation.Status.OPEN)
        .exclude(_recent_message(cutoff))
        .update(status=Conversation.Status.CLOSED)
    )


def messages_due_for_erasure(*, workspace: Workspace, cutoff: datetime) -> QuerySet[Message]:
    """Messages not yet erased in the workspace's closed conversations that are still quiet
    since `cutoff` (a closed conversation that got a message since is not touched)."""
    idle_closed = Conversation.objects.filter(
        workspace=workspace, status=Conversation.Status.CLOSED
    ).exclude(_recent_message(cutoff))
    return Message.objects.filter(
        workspace=workspace, body_erased_at__isnull=True, conversation__in=idle_closed
    )


@dataclass
class ErasedCounts:
    messages: int = 0
    events: int = 0
    proposals: int = 0
    runs: int = 0
    conversations: int = 0

    def add(self, other: ErasedCounts) -> None:
        for name in ("messages", "events", "proposals", "runs", "conversations"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def messages_erase_batch(
    *, workspace: Workspace, cutoff: datetime, now: datetime, batch_size: int
) -> ErasedCounts:
    """Erase up to `batch_size` due messages and the copies of their text (see the module
    docstring), in one transaction. Rows another worker is erasing are skipped."""
    marker = erase_marker(now)
    with transaction.atomic():
        rows = list(
            messages_due_for_erasure(workspace=workspace, cutoff=cutoff)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
            .values_list("id", "conversation_id")[:batch_size]
        )
        if not rows:
            return ErasedCounts()
        ids = [message_id for message_id, _ in rows]
        conversation_ids = {conversation_id for _, conversation_id in rows}
        return ErasedCounts(
            messages=Message.objects.filter(pk__in=ids).update(
                subject="", body_text=marker, body_html="", body_erased_at=now
            ),
            events=InboundEvent.objects.filter(message_id__in=ids).update(body=marker),
            proposals=Proposal.objects.filter(message_id__in=ids)
            .exclude(source_text="")
            .update(source_text=""),
            runs=messages_erased_send(message_ids=ids),
            conversations=Conversation.objects.filter(pk__in=conversation_ids)
            .exclude(subject="")
            .update(subject=""),
        )


@dataclass
class RetentionResult:
    conversations_closed: int = 0
    batches: int = 0
    erased: ErasedCounts = field(default_factory=ErasedCounts)
    more: bool = False  # stopped at RETENTION_MAX_BATCHES with messages still due


def message_retention_apply(
    *,
    workspace: Workspace,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
) -> RetentionResult:
    """Close idle conversations and erase their messages, as a message-retention JobRun.
    Nothing happens (and nothing is recorded) when the workspace keeps messages."""
    days = (
        WorkspaceSettings.objects.filter(workspace=workspace)
        .values_list("message_retention_days", flat=True)
        .first()
    )
    result = RetentionResult()
    if days is None:
        return result
    now = now or timezone.now()
    batch_size = batch_size or RETENTION_BATCH_SIZE
    max_batches = max_batches or RETENTION_MAX_BATCHES
    cutoff = retention_cutoff(days=days, now=now)
    with job_run(type=JobType.MESSAGE_RETENTION, workspace=workspace) as job:
        result.conversations_closed = conversations_close_idle(workspace=workspace, cutoff=cutoff)
        for _ in range(max_batches):
            counts = messages_erase_batch(
                workspace=workspace, cutoff=cutoff, now=now, batch_size=batch_size
            )
            result.erased.add(counts)
            if counts.messages:
                result.batches += 1
            if counts.messages < batch_size:
                break
        else:
            result.more = messages_due_for_erasure(workspace=workspace, cutoff=cutoff).exists()
        erased = result.erased
        job.set(
            rows_processed=erased.messages,
            retention_days=days,
            batches=result.batches,
            conversations_closed=result.conversations_closed,
            messages_erased=erased.messages,
            events_erased=erased.events,
            proposal_excerpts_erased=erased.proposals,
            run_context_packs_erased=erased.runs,
            conversation_subjects_erased=erased.conversations,
            more=int(result.more),
        )
    return result


def workspaces_with_message_retention() -> QuerySet[Workspace]:
    return Workspace.objects.filter(settings__message_retention_days__isnull=False).order_by("pk")
