"""Template filters for durations in milliseconds."""

from __future__ import annotations

from django import template

from timing.formatting import format_duration_ms

register = template.Library()


@register.filter
def duration_ms(value: float | None) -> str:
    return format_duration_ms(value)


@register.filter
def signed_duration_ms(value: float | None) -> str:
    """A difference: "+1m 05s" when late, a minus sign when early, a dash when unknown."""
    if value is None:
        return format_duration_ms(None)
    sign = "+" if value >= 0 else "\u2212"
    return sign + format_duration_ms(abs(value))
