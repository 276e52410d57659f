"""Small display helpers for the review pages: relative times, confidence bars, codes."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.labels import human_label
from drafts.assignment import conversation_owner
from drafts.models import Proposal

register = template.Library()

BAR_SEGMENTS = 5


def age_label(value: datetime, now: datetime | None = None) -> str:
    """ "now", "40m", "3h", "2d", "5w": how long ago, in the fewest characters."""
    seconds = int(((now or timezone.now()) - value).total_seconds())
    if seconds < 60:
        return "now"
    for size, unit in ((7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size and (unit != "w" or seconds >= 14 * 86400):
            return f"{seconds // size}{unit}"
    return "now"  # pragma: no cover - the loop always returns for seconds >= 60


@register.simple_tag
def ago(value: datetime | None) -> SafeString | str:
    """A relative time with the exact time on hover (app.js shows it in local time)."""
    if value is None:
        return "—"
    exact = timezone.localtime(value).strftime("%Y-%m-%d %H:%M UTC")
    return format_html(
        '<time class="num" datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        exact,
        age_label(value),
    )


@register.simple_tag
def clock(value: datetime | None) -> SafeString | str:
    """A time of day (HH:MM), shown by app.js in the reader's time zone."""
    if value is None:
        return "—"
    return format_html(
        '<time class="num" datetime="{}" data-clock title="{}">{}</time>',
        value.isoformat(),
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M UTC"),
        timezone.localtime(value).strftime("%H:%M UTC"),
    )


@register.filter
def segments(confidence: float | None) -> list[bool]:
    """Filled/empty segments of a five-step confidence bar."""
    if confidence is None:
        return []
    filled = round(max(0.0, min(1.0, confidence)) * BAR_SEGMENTS)
    return [i < filled for i in range(BAR_SEGMENTS)]


# One filter for codes, the one in config/labels.py; `humanize_code` is its old name, kept
# for templates that still say it.
register.filter("human_label", human_label)
register.filter("humanize_code", human_label)


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def seconds_from_now(value: datetime | None) -> int:
    """Whole seconds until `value` (0 once it has passed): the undo flash's countdown."""
    if value is None:
        return 0
    return max(0, math.ceil((value - timezone.now()).total_seconds()))


@register.filter
def owner(conversation: Any) -> Any:
    """Who owns the conversation now (assigned, else the lead's rep; None: nobody)."""
    return conversation_owner(conversation)


@register.filter
def user_label(user: Any) -> str:
    if user is None:
        return "someone"
    return str(getattr(user, "email", "") or getattr(user, "username", "") or user)


@register.filter
def attr_of(lead: Any, field: str) -> str:
    """A lead's current value of a proposal's field (only fields a proposal can name)."""
    if field not in Proposal.Field.values:
        return ""
    return str(getattr(lead, field, "") or "")
