"""Durations for people: "850 ms", "42 s", "4m 05s", "1h 02m", "2d 3h"."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise


def format_duration_ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    ms = max(0, round(ms))
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 10:
        return f"{seconds:.1f} s"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


@dataclass(frozen=True)
class DurationUnit:
    """The unit a chart axis shows durations in, picked so its numbers stay readable."""

    name: str
    ms: int

    def of(self, ms: float | None) -> float | None:
        return None if ms is None else ms / self.ms


UNITS = (
    DurationUnit("seconds", 1000),
    DurationUnit("minutes", 60_000),
    DurationUnit("hours", 3_600_000),
    DurationUnit("days", 86_400_000),
)


def duration_unit(largest_ms: float | None) -> DurationUnit:
    """Seconds up to 2 minutes, minutes up to 2 hours, hours up to 2 days, then days."""
    largest = largest_ms or 0
    for unit, next_unit in pairwise(UNITS):
        if largest < 2 * next_unit.ms:
            return unit
    return UNITS[-1]
