"""When the workspace's knowledge says meetings can happen ("Monday to Saturday between 8am
and 6pm"), and whether a time a lead proposed ("Thursday afternoon") falls inside it.

Only what a sentence states plainly counts: a day range and an hour range in the same
sentence. A relative day ("tomorrow"), a date, or a clock time without am/pm is never
"inside": someone has to read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.grounding import sentences
from pipeline.language import TimeMention

_I = re.IGNORECASE
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
_DAY_RANGE = re.compile(rf"\b{_DAY}\s*(?:to|through|thru|until|-|\u2013)\s*{_DAY}\b", _I)
_EVERY_DAY = re.compile(r"\b(every day|daily|seven days a week|7 days a week)\b", _I)
_WEEKDAYS = re.compile(r"\bweekdays\b", _I)
_CLOCK = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)"
_HOURS = re.compile(rf"{_CLOCK}\s*(?:and|to|until|-|\u2013)\s*{_CLOCK}", _I)
_CLOCK_ALONE = re.compile(rf"^\s*(?:at |around )?{_CLOCK}\s*$", _I)
_24H = re.compile(r"^\s*(?:at |around )?(\d{1,2}):(\d{2})\s*$")
# The hours each part of the day covers (24 h clock, end exclusive).
PARTS_OF_DAY: dict[str, tuple[float, float]] = {
    "morning": (9.0, 12.0),
    "noon": (12.0, 13.0),
    "midday": (12.0, 13.0),
    "lunchtime": (12.0, 13.0),
    "lunch time": (12.0, 13.0),
    "afternoon": (12.0, 17.0),
    "evening": (17.0, 20.0),
    "night": (20.0, 24.0),
}
MEETING_HOURS = 0.5  # a proposed clock time needs this long before the window closes


@dataclass(frozen=True)
class Window:
    days: frozenset[str]
    start: float
    end: float


def _hour(hour: str, minute: str | None, half: str) -> float:
    value = int(hour) % 12 + (12 if half.lower().startswith("p") else 0)
    return value + int(minute or 0) / 60


def _days_in(sentence: str) -> frozenset[str]:
    days: set[str] = set()
    for match in _DAY_RANGE.finditer(sentence):
        first, last = WEEKDAYS.index(match.group(1).lower()), WEEKDAYS.index(match.group(2).lower())
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        days.update(WEEKDAYS[i] for i in span)
    if _WEEKDAYS.search(sentence):
        days.update(WEEKDAYS[:5])
    if _EVERY_DAY.search(sentence):
        days.update(WEEKDAYS)
    return frozenset(days)


def availability_in(texts: Iterable[str]) -> tuple[Window, ...]:
    """Every (days, hours) window the texts state in one sentence."""
    windows: list[Window] = []
    for text in texts:
        for sentence in sentences(text):
            days = _days_in(sentence)
            hours = _HOURS.search(sentence)
            if days and hours:
                start = _hour(hours.group(1), hours.group(2), hours.group(3))
                end = _hour(hours.group(4), hours.group(5), hours.group(6))
                if start < end:
                    windows.append(Window(days=days, start=start, end=end))
    return tuple(windows)


def _span_of(mention: TimeMention) -> tuple[float, float] | None:
    """The hours a mention means, or None when it does not say in a way code can check."""
    if mention.clock_time:
        clock = _CLOCK_ALONE.match(mention.clock_time)
        if clock:
            start = _hour(clock.group(1), clock.group(2), clock.group(3))
        else:
            h24 = _24H.match(mention.clock_time)
            if h24 is None:
                return None  # "at 3": morning or afternoon?
            start = int(h24.group(1)) + int(h24.group(2)) / 60
        return (start, start + MEETING_HOURS)
    if mention.part_of_day:
        return PARTS_OF_DAY.get(mention.part_of_day)
    return None


def mention_within(mention: TimeMention, windows: Iterable[Window]) -> bool:
    """A proposed time is inside the stated availability: a weekday it covers, and (when
    given) a part of the day or a clock time inside its hours."""
    day = (mention.day or "").removesuffix("s")
    if day not in WEEKDAYS:
        return False
    if not mention.clock_time and not mention.part_of_day:  # "Saturday works"
        return any(day in window.days for window in windows)
    span = _span_of(mention)
    if span is None:
        return False
    return any(
        day in window.days and window.start <= span[0] and span[1] <= window.end
        for window in windows
    )


def times_available(mentions: Iterable[TimeMention], windows: Iterable[Window]) -> bool:
    """Every proposed time that someone would otherwise have to confirm is inside the
    stated availability (and at least one was proposed): a reply may say so and send."""
    stated = tuple(windows)
    specific = [m for m in mentions if m.specific]
    return bool(specific) and bool(stated) and all(mention_within(m, stated) for m in specific)
