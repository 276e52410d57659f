"""The context pack: everything the stages may use about one inbound message, each section
weighted and measured in tokens, trimmed to a budget, and stored with the run (so a resumed
run sees exactly what the first attempt saw)."""

from __future__ import annotations

from typing import Any

from drafts.models import LearningSample, Message
from pipeline.grounding import SMS_MAX_CHARS
from pipeline.knowledge import knowledge_search
from pipeline.llm.tokens import estimate_tokens
from workspaces.models import ChannelKind, WorkspaceSettings

PACK_VERSION = 1
BUDGET_TOKENS = 6000
# Share of the budget each section may fill; what overflows is trimmed from its least
# useful end (oldest messages, lowest-ranked documents, oldest samples).
WEIGHTS: dict[str, float] = {
    "knowledge": 0.4,
    "thread": 0.3,
    "lead": 0.1,
    "learning_samples": 0.1,
    "guidelines": 0.1,
}
THREAD_LIMIT = 10
KNOWLEDGE_LIMIT = 4
SAMPLES_LIMIT = 3
MESSAGE_MAX_CHARS = 4000
ITEM_MAX_CHARS = 2000


def _trim(items: list[dict[str, Any]], budget: int, *, keep_tail: bool) -> tuple[list, int]:
    """Items (each measured) that fit `budget` tokens: the newest (`keep_tail`) or the first."""
    ordered = list(reversed(items)) if keep_tail else list(items)
    kept: list[dict[str, Any]] = []
    total = 0
    for item in ordered:
        tokens = estimate_tokens(" ".join(str(v) for v in item.values()))
        if kept and total + tokens > budget:
            break
        kept.append(item)
        total += tokens
    return (list(reversed(kept)) if keep_tail else kept), total


def _budget(section: str) -> int:
    return int(BUDGET_TOKENS * WEIGHTS[section])


def max_chars_for(channel_kind: str) -> int | None:
    return SMS_MAX_CHARS if channel_kind == ChannelKind.SMS else None


def context_pack_build(
    *, message: Message, ws_settings: WorkspaceSettings
) -> tuple[dict[str, Any], bool]:
    """The pack for `message`, and whether a newer inbound message is already in its
    conversation (then the run should stop before drafting)."""
    recent = list(
        Message.objects.filter(conversation_id=message.conversation_id)
        .order_by("-sent_at", "-received_at")
        .values("id", "direction", "sender_kind", "body_text", "sent_at", "body_erased_at")[
            : THREAD_LIMIT * 2
        ]
    )
    newer = any(
        row["direction"] == Message.Direction.INBOUND
        and row["sent_at"] > message.sent_at
        and row["id"] != message.pk
        for row in recent
    )
    # Whether an earlier inbound message (which may have an open draft) exists; a full page
    # of rows may hide one.
    earlier_inbound = len(recent) == THREAD_LIMIT * 2 or any(
        row["direction"] == Message.Direction.INBOUND
        and row["sent_at"] <= message.sent_at
        and row["id"] != message.pk
        for row in recent
    )
    earlier = [
        {
            "direction": row["direction"],
            "sender": row["sender_kind"],
            "text": "" if row["body_erased_at"] else row["body_text"][:ITEM_MAX_CHARS],
            "sent_at": row["sent_at"].isoformat(),
        }
        for row in reversed(recent)
        if row["id"] != message.pk and row["sent_at"] <= message.sent_at
    ][-THREAD_LIMIT:]
    thread, thread_tokens = _trim(earlier, _budget("thread"), keep_tail=True)

    text = f"{message.subject}\n{message.body_text}".strip()[:MESSAGE_MAX_CHARS]
    hits = knowledge_search(workspace_id=message.workspace_id, text=text, limit=KNOWLEDGE_LIMIT)
    knowledge, knowledge_tokens = _trim(
        [
            {"id": h.id, "title": h.title, "url": h.source_url, "body": h.body, "rank": h.rank}
            for h in hits
        ],
        _budget("knowledge"),
        keep_tail=False,
    )

    samples_rows = (
        LearningSample.objects.filter(
            workspace_id=message.workspace_id, channel_id=message.channel_id
        )
        .order_by("-created_at")
        .values("original", "final")[:SAMPLES_LIMIT]
    )
    samples, samples_tokens = _trim(
        [
            {"original": r["original"][:ITEM_MAX_CHARS], "final": r["final"][:ITEM_MAX_CHARS]}
            for r in samples_rows
        ],
        _budget("learning_samples"),
        keep_tail=False,
    )

    lead = message.lead
    # Identity fields a reply needs; contact details stay out of prompts.
    profile = {
        "name": lead.name,
        "company": lead.company,
        "title": lead.title,
        "timezone": lead.timezone,
    }
    lead_section: dict[str, Any] = {"profile": profile}
    if ws_settings.lead_context_bundle_enabled:
        other = Message.objects.filter(lead_id=lead.pk).exclude(
            conversation_id=message.conversation_id
        )
        lead_section["other_conversations"] = [
            {"direction": r["direction"], "text": r["body_text"][:500]}
            for r in other.order_by("-sent_at").values("direction", "body_text")[:5]
        ]
    lead_tokens = estimate_tokens(str(lead_section))

    guidelines = ws_settings.reply_guidelines[: _budget("guidelines") * 4]
    guidelines_tokens = estimate_tokens(guidelines)
    message_tokens = estimate_tokens(text)

    sections = {
        "thread": {"weight": WEIGHTS["thread"], "tokens": thread_tokens, "items": thread},
        "lead": {"weight": WEIGHTS["lead"], "tokens": lead_tokens, **lead_section},
        "knowledge": {
            "weight": WEIGHTS["knowledge"],
            "tokens": knowledge_tokens,
            "items": knowledge,
        },
        "learning_samples": {
            "weight": WEIGHTS["learning_samples"],
            "tokens": samples_tokens,
            "items": samples,
        },
        "guidelines": {
            "weight": WEIGHTS["guidelines"],
            "tokens": guidelines_tokens,
            "text": guidelines,
        },
    }
    pack = {
        "version": PACK_VERSION,
        "budget_tokens": BUDGET_TOKENS,
        "total_tokens": message_tokens + sum(int(s["tokens"]) for s in sections.values()),
        "workspace": message.workspace.name,
        "channel": message.channel.kind,
        "max_chars": max_chars_for(message.channel.kind),
        "earlier_inbound": earlier_inbound,
        "message": {
            "id": str(message.pk),
            "subject": message.subject,
            "text": text,
            "tokens": message_tokens,
            "sent_at": message.sent_at.isoformat(),
        },
        "sections": sections,
    }
    return pack, newer
