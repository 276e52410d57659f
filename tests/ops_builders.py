"""Builders for the ops tests: drafts with their decision, runs with timed artifacts, review
actions, all at chosen times (auto_now_add fields are moved with a queryset update)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drafts.models import Draft, DraftAction, LearningSample, Message
from pipeline.models import PipelineArtifact, PipelineRun
from tests.factories import ConversationFactory, LeadFactory, MessageFactory
from workspaces.models import Channel, Workspace, WorkspaceSettings


def inbound_message(channel: Channel, *, received_at: datetime | None = None, **kwargs: Any):
    conversation = ConversationFactory(
        lead=LeadFactory(workspace=channel.workspace), channel=channel
    )
    message = MessageFactory(conversation=conversation, **kwargs)
    if received_at is not None:
        Message.objects.filter(pk=message.pk).update(received_at=received_at)
        message.received_at = received_at
    return message


def make_draft(
    channel: Channel,
    *,
    created_at: datetime,
    status: str = Draft.Status.PENDING,
    loop_ms: list[int] | None = None,
    **fields: Any,
) -> Draft:
    """A draft answering a fresh inbound message; `loop_ms` gives its run revision-loop
    artifacts (selector, reviser, evaluation for iterations 1.., in that order of latencies),
    plus a strategy and a first evaluation that must not count as revision time."""
    message = inbound_message(channel)
    fields.setdefault("text", "Thanks for writing in.")
    fields.setdefault("original_text", fields["text"])
    draft = Draft.objects.create(
        workspace=channel.workspace,
        conversation=message.conversation,
        trigger_message=message,
        status=status,
        **fields,
    )
    if loop_ms is not None:
        run = PipelineRun.objects.create(
            workspace=channel.workspace, trigger_message=message, channel=channel
        )
        PipelineArtifact.objects.create(run=run, stage="draft_strategy_step1", latency_ms=9000)
        PipelineArtifact.objects.create(
            run=run, stage="auto_send_evaluation", iteration=0, latency_ms=7000
        )
        stages = [
            "auto_send_revision_selector",
            "auto_send_revision_reviser",
            "auto_send_evaluation",
        ]
        for i, ms in enumerate(loop_ms):
            PipelineArtifact.objects.create(
                run=run, stage=stages[i % 3], iteration=1 + i // 3, latency_ms=ms
            )
        Draft.objects.filter(pk=draft.pk).update(run=run)
    Draft.objects.filter(pk=draft.pk).update(created_at=created_at)
    draft.refresh_from_db()
    return draft


def review(
    draft: Draft,
    user: Any,
    kind: str,
    *,
    at: datetime,
    reason: str = "",
    final_text: str = "",
    sample_original: str | None = None,
) -> DraftAction:
    action = DraftAction.objects.create(
        draft=draft, user=user, kind=kind, reason=reason, final_text=final_text
    )
    DraftAction.objects.filter(pk=action.pk).update(created_at=at)
    if sample_original is not None:
        LearningSample.objects.create(
            workspace=draft.workspace,
            draft=draft,
            lead=draft.conversation.lead,
            channel=draft.conversation.channel,
            original=sample_original,
            final=final_text,
        )
    return action


def workspace_channel(workspace: Workspace, kind: str = "email") -> Channel:
    return workspace.channels.get(kind=kind)


KNOBS_FORM = [
    "auto_send_confidence_threshold",
    "auto_send_delay_min_seconds",
    "auto_send_delay_max_seconds",
    "revision_model",
    "revision_reasoning_effort",
    "revision_max_iterations",
]
ADMIN_FIELDS = [
    "auto_send_enabled",
    "auto_send_confidence_threshold",
    "auto_send_delay_min_seconds",
    "auto_send_delay_max_seconds",
    "revision_enabled",
    "revision_model",
    "revision_reasoning_effort",
    "revision_max_iterations",
    "draft_model",
    "lead_context_bundle_enabled",
    "meeting_booking_gate_enabled",
    "reply_guidelines",
    "undo_seconds",
]


def knobs_post(ws_settings: WorkspaceSettings, **changes: Any) -> dict[str, Any]:
    """What the browser posts from the /ops/ knobs form: every field, and its rendered
    value as the hidden initial."""
    data: dict[str, Any] = {}
    for name in KNOBS_FORM:
        current = getattr(ws_settings, name)
        data[name] = changes.get(name, current)
        data[f"initial-{name}"] = current
    return data


def admin_post(ws_settings: WorkspaceSettings, fields: list[str], **changes: Any) -> dict[str, Any]:
    """What the admin change form posts: booleans as present/absent checkboxes."""
    data: dict[str, Any] = {}
    for name in fields:
        value = changes.get(name, getattr(ws_settings, name))
        if value is True:
            data[name] = "on"
        elif value is not False:
            data[name] = value
    return data
