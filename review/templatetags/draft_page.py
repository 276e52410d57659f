"""Display helpers of the draft page: times labelled with their zone, folded message text."""

from __future__ import annotations

from datetime import datetime, tzinfo

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from drafts.quoted_text import MessageParts, message_parts
from review.draft_page import lead_zone

register = template.Library()


def zoned_label(value: datetime, zone: tzinfo | None = None) -> str:
    """ "14:05 UTC" today, "3 Dec 14:05 UTC" on another day: 24-hour, always with the zone
    (the workspace's, settings.TIME_ZONE, unless `zone` is given)."""
    local = value.astimezone(zone) if zone is not None else timezone.localtime(value)
    today = (timezone.now().astimezone(local.tzinfo)).date()
    day = "" if local.date() == today else f"{local.day} {local:%b} "
    return f"{day}{local:%H:%M} {local:%Z}"


@register.simple_tag
def zoned(value: datetime | None, lead_tz: str = "") -> SafeString | str:
    """A time in the workspace's zone and, when the lead's zone is known, theirs too."""
    if value is None:
        return "—"
    exact = timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")
    html = format_html(
        '<time class="num" datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        exact,
        zoned_label(value),
    )
    zone = lead_zone(lead_tz)
    if zone is None or zoned_label(value, zone) == zoned_label(value):
        return html
    return format_html(
        '{} <span class="lead-time num" title="The lead\'s local time ({})">· {} their time</span>',
        html,
        lead_tz,
        zoned_label(value, zone),
    )


@register.filter
def folded(body: str | None) -> MessageParts:
    return message_parts(body or "")
