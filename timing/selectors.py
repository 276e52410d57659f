"""Reads of response timing for the page and the API.

Every summary counts only inbound messages that opened a burst (the first since the last
reply), in a window of inbound sent time [since, until), and only those with a reply of the
kind summarised. Percentiles are PostgreSQL's `percentile_cont` (interpolated), rounded to
the nearest millisecond. Every read goes through `analytics_db()` (the read-only connection
when one is configured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import (
    Aggregate,
    Case,
    Count,
    F,
    FloatField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Lower, TruncDate

from timing.models import ResponseTimingEvent
from workspaces.access import get_in_workspace_or_404
from workspaces.analytics_db import analytics_db
from workspaces.errors import DomainError
from workspaces.models import Channel, Workspace


class Percentile(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expression); NULLs are ignored."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within [0, 1]")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def _ms(value: float | None) -> int | None:
    """Half-up to a whole millisecond."""
    return None if value is None else math.floor(value + 0.5)


@dataclass(frozen=True)
class TimingWindow:
    workspace: Workspace
    since: datetime
    until: datetime
    channel: Channel | None = None


def timing_window(
    *, workspace: Workspace, since: datetime, until: datetime, channel_id: Any = None
) -> TimingWindow:
    """A window of one workspace; another workspace's channel is a 404."""
    if since >= until:
        raise DomainError(
            "`since` must be before `until`.",
            details=[{"field": "since", "message": "must be before until"}],
        )
    channel = None
    if channel_id:
        channel = get_in_workspace_or_404(analytics_channels(), workspace, pk=channel_id)
    return TimingWindow(workspace=workspace, since=since, until=until, channel=channel)


def analytics_channels() -> QuerySet[Channel]:
    """Channels as the timing reads need them: never their secrets or outbound URL."""
    return Channel.objects.using(analytics_db()).only("id", "workspace_id", "kind", "name")


def burst_events(window: TimingWindow) -> QuerySet[ResponseTimingEvent]:
    """Events of the window that opened a burst: what every summary counts."""
    qs = ResponseTimingEvent.objects.using(analytics_db()).filter(
        workspace=window.workspace,
        inbound_sent_at__gte=window.since,
        inbound_sent_at__lt=window.until,
        opened_burst=True,
    )
    if window.channel is not None:
        qs = qs.filter(channel=window.channel)
    return qs


def _series(prefix: str, field: str) -> dict[str, Any]:
    return {
        f"{prefix}_count": Count(field),
        f"{prefix}_p50": Percentile(field, 0.5),
        f"{prefix}_p90": Percentile(field, 0.9),
    }


def timing_summary(window: TimingWindow) -> dict[str, dict[str, int | None]]:
    """`{"setter": {"count", "p50_ms", "p90_ms"}, "ai": {...}}` in one query."""
    row = burst_events(window).aggregate(**_series("setter", "setter_ms"), **_series("ai", "ai_ms"))
    return {
        kind: {
            "count": row[f"{kind}_count"],
            "p50_ms": _ms(row[f"{kind}_p50"]),
            "p90_ms": _ms(row[f"{kind}_p90"]),
        }
        for kind in ("setter", "ai")
    }


@dataclass(frozen=True)
class Day:
    day: date
    setter_count: int
    setter_p50_ms: int | None
    setter_p90_ms: int | None
    ai_count: int
    ai_p50_ms: int | None
    ai_p90_ms: int | None


def timing_by_day(window: TimingWindow) -> list[Day]:
    """Every UTC day of the window (empty days included), with p50/p90 of each series."""
    rows: dict[date, dict[str, Any]] = {
        row["day"]: dict(row)
        for row in burst_events(window)
        .annotate(day=TruncDate("inbound_sent_at"))
        .values("day")
        .annotate(**_series("setter", "setter_ms"), **_series("ai", "ai_ms"))
        .order_by("day")
    }
    days = []
    day = window.since.date()
    while datetime.combine(day, datetime.min.time(), window.since.tzinfo) < window.until:
        row = rows.get(day, {})
        days.append(
            Day(
                day=day,
                setter_count=row.get("setter_count", 0),
                setter_p50_ms=_ms(row.get("setter_p50")),
                setter_p90_ms=_ms(row.get("setter_p90")),
                ai_count=row.get("ai_count", 0),
                ai_p50_ms=_ms(row.get("ai_p50")),
                ai_p90_ms=_ms(row.get("ai_p90")),
            )
        )
        day += timedelta(days=1)
    return days


# Upper bounds (exclusive) of the distribution's buckets, in milliseconds; the last is open.
_TO = "\u2013"  # an en dash, as in "1 to 5 minutes"
BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("< 1m", 60_000),
    (f"1{_TO}5m", 300_000),
    (f"5{_TO}15m", 900_000),
    (f"15{_TO}30m", 1_800_000),
    (f"30{_TO}60m", 3_600_000),
    (f"1{_TO}2h", 7_200_000),
    (f"2{_TO}4h", 14_400_000),
    (f"4{_TO}8h", 28_800_000),
    (f"8{_TO}24h", 86_400_000),
    ("≥ 1d", None),
)


def _bucket_filters(field: str) -> list[Q]:
    filters, lower = [], 0
    for _, upper in BUCKETS:
        q = Q(**{f"{field}__gte": lower})
        if upper is not None:
            q &= Q(**{f"{field}__lt": upper})
            lower = upper
        filters.append(q)
    return filters


def timing_distribution(window: TimingWindow) -> dict[str, list[tuple[str, int]]]:
    """How many replies of each kind fell in each bucket, in one query."""
    aggregates = {
        f"{kind}_{i}": Count("pk", filter=q)
        for kind, field in (("setter", "setter_ms"), ("ai", "ai_ms"))
        for i, q in enumerate(_bucket_filters(field))
    }
    row = burst_events(window).aggregate(**aggregates)
    return {
        kind: [(label, row[f"{kind}_{i}"]) for i, (label, _) in enumerate(BUCKETS)]
        for kind in ("setter", "ai")
    }


@dataclass(frozen=True)
class SetterRow:
    user_id: int | None
    label: str
    member: bool
    count: int
    p50_ms: int | None
    p90_ms: int | None


def timing_by_setter(window: TimingWindow) -> list[SetterRow]:
    """Each setter's replies, busiest first. Setters without an account here (replies from
    another tool that named only an email) are grouped by that email."""
    rows = (
        burst_events(window)
        .filter(setter_ms__isnull=False)
        .annotate(
            outside_email=Case(
                When(setter_user__isnull=True, then=Lower("setter_email")), default=Value("")
            )
        )
        .values("setter_user", "setter_user__email", "setter_user__username", "outside_email")
        .annotate(
            count=Count("pk"),
            p50=Percentile("setter_ms", 0.5),
            p90=Percentile("setter_ms", 0.9),
        )
        .order_by("-count", "p50", "setter_user__email", "outside_email")
    )
    return [
        SetterRow(
            user_id=row["setter_user"],
            label=(
                row["setter_user__email"] or row["setter_user__username"]
                if row["setter_user"] is not None
                else row["outside_email"] or "Unknown setter"
            ),
            member=row["setter_user"] is not None,
            count=row["count"],
            p50_ms=_ms(row["p50"]),
            p90_ms=_ms(row["p90"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class DelayRow:
    chosen_minute: int
    count: int
    chosen_p50_ms: int | None
    actual_p50_ms: int | None
    actual_p90_ms: int | None

    @property
    def overshoot_p50_ms(self) -> int | None:
        if self.chosen_p50_ms is None or self.actual_p50_ms is None:
            return None
        return self.actual_p50_ms - self.chosen_p50_ms


def timing_delay_attribution(window: TimingWindow) -> list[DelayRow]:
    """AI replies sent through a scheduled send, bucketed by the chosen delay's whole
    minute: the chosen delay against the delay that actually passed."""
    rows = (
        burst_events(window)
        .filter(delay_chosen_seconds__isnull=False)
        .annotate(
            chosen_minute=F("delay_chosen_seconds") / 60,
            chosen_ms=F("delay_chosen_seconds") * 1000,
        )
        .values("chosen_minute")
        .annotate(
            count=Count("pk"),
            chosen_p50=Percentile("chosen_ms", 0.5),
            actual_p50=Percentile("delay_actual_ms", 0.5),
            actual_p90=Percentile("delay_actual_ms", 0.9),
        )
        .order_by("chosen_minute")
    )
    return [
        DelayRow(
            chosen_minute=row["chosen_minute"],
            count=row["count"],
            chosen_p50_ms=_ms(row["chosen_p50"]),
            actual_p50_ms=_ms(row["actual_p50"]),
            actual_p90_ms=_ms(row["actual_p90"]),
        )
        for row in rows
    ]


def workspace_has_timing(workspace: Workspace) -> bool:
    return ResponseTimingEvent.objects.using(analytics_db()).filter(workspace=workspace).exists()
