"""What the draft page shows beside the draft: the lead panel (profile, owner, local time,
earlier conversations), the operator's one-sentence summary of the run, the send waiting
for its undo window, and where to go next. Read side only; the changes live in services."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from autosend.gate import REASONS as GATE_REASONS
from autosend.gate import Category
from autosend.models import ScheduledSend
from config.labels import human_label
from drafts.assignment import conversation_owner, workspace_people
from drafts.models import Conversation, Draft
from workspaces.models import WorkspaceSettings

EARLIER_CONVERSATIONS = 10
_BELOW_THRESHOLD = re.compile(r"below threshold ([\d.]+)(?: \(confidence ([\d.]+)\))?")


def lead_zone(tz_name: str) -> zoneinfo.ZoneInfo | None:
    """The lead's time zone, or None when it is unknown or not a real zone name."""
    if not tz_name:
        return None
    try:
        return zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class EarlierConversation:
    conversation: Conversation
    message_count: int
    latest_draft_id: Any


@dataclass(frozen=True)
class LeadPanel:
    owner: Any
    # True while nobody assigned the conversation: it follows the lead's rep.
    owner_is_rep_default: bool
    people: list[Any]
    # The lead's wall clock now, with its zone ("10:41 MST"); "" when the zone is unknown.
    local_time: str
    zone_name: str
    earlier: list[EarlierConversation]


def lead_panel(*, draft: Draft) -> LeadPanel:
    """The lead panel of a draft loaded by `selectors.draft_for_review` (owner and rep come
    with it; the people and the earlier conversations are two more queries)."""
    conversation = draft.conversation
    lead = conversation.lead
    zone = lead_zone(lead.timezone)
    latest_draft = Draft.objects.filter(conversation_id=OuterRef("pk")).order_by("-created_at")
    earlier = (
        Conversation.objects.filter(lead_id=lead.pk)
        .exclude(pk=conversation.pk)
        .select_related("channel")
        .annotate(
            message_count=Count("messages"),
            latest_draft_id=Subquery(latest_draft.values("pk")[:1]),
        )
        .order_by("-last_message_at", "-created_at")[:EARLIER_CONVERSATIONS]
    )
    return LeadPanel(
        owner=conversation_owner(conversation),
        owner_is_rep_default=conversation.owner_set_at is None,
        people=workspace_people(workspace=draft.workspace),
        local_time=f"{timezone.now().astimezone(zone):%H:%M %Z}" if zone is not None else "",
        zone_name=lead.timezone if zone is not None else "",
        earlier=[
            EarlierConversation(
                conversation=c, message_count=c.message_count, latest_draft_id=c.latest_draft_id
            )
            for c in earlier
        ],
    )


def blocked_explanation(code: str) -> str:
    """The gate's own sentence for a block category ("" for a code it does not know)."""
    try:
        return GATE_REASONS.get(Category(code), "")
    except ValueError:
        return ""


def run_summary(*, draft: Draft, threshold: float | None) -> str:
    """One sentence an operator reads first: why this draft is waiting for them (or what
    happened to it), in words, before any engineer's detail."""
    if draft.blocked_reason:
        why = blocked_explanation(draft.blocked_reason)
        return (
            f"Blocked because: {human_label(draft.blocked_reason)}. {why} "
            "A blocked reply is never sent automatically: a person decides."
        ).replace("  ", " ")
    if draft.auto_send_action == Draft.Action.SEND:
        return "Passed every check: sent automatically, after a human-like delay."
    held = draft.held_reason.strip()
    if held:
        below = _BELOW_THRESHOLD.fullmatch(held)
        if below:
            confidence = below[2] or (
                f"{draft.auto_send_confidence:.2f}"
                if draft.auto_send_confidence is not None
                else ""
            )
            score = f" {confidence}" if confidence else ""
            return (
                f"Held because the confidence{score} is below the workspace's threshold {below[1]}."
            )
        return f"Held because {held}."
    if draft.auto_send_action == Draft.Action.REVIEW:
        return "Held for review by the auto-send check."
    if draft.auto_send_confidence is not None and threshold is not None:
        return (
            f"Waiting for review: auto-send is off for this workspace (confidence "
            f"{draft.auto_send_confidence:.2f}, threshold {threshold:.2f})."
        )
    return "Waiting for review: auto-send did not evaluate this draft."


def workspace_threshold(workspace_id: Any) -> float | None:
    found = WorkspaceSettings.objects.filter(workspace_id=workspace_id).values_list(
        "auto_send_confidence_threshold", flat=True
    )
    return found.first()


def send_waiting(send: ScheduledSend | None) -> ScheduledSend | None:
    """The booked send while it can still be undone (scheduled, not yet due)."""
    if send is None or send.status != ScheduledSend.Status.SCHEDULED:
        return None
    return send if send.run_at > timezone.now() else None


def next_pending_draft_id(*, draft: Draft) -> Any:
    """The oldest other draft waiting for review: where "Next draft" goes."""
    return (
        Draft.objects.filter(workspace_id=draft.workspace_id, status=Draft.Status.PENDING)
        .exclude(pk=draft.pk)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
