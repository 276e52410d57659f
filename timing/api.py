"""REST endpoints of the timing app (mounted under /api/v1/ by config/api.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from config.db import POSTGRESQL_REQUIRED, is_postgresql
from timing.selectors import timing_summary, timing_window
from workspaces.analytics_db import analytics_db
from workspaces.context import API_AUTH, actor_of
from workspaces.errors import DomainError

router = Router(tags=["timing"], auth=API_AUTH)

DEFAULT_WINDOW = timedelta(days=30)


class SeriesSummaryOut(Schema):
    count: int
    p50_ms: int | None
    p90_ms: int | None


class TimingSummaryOut(Schema):
    setter: SeriesSummaryOut
    ai: SeriesSummaryOut
    since: datetime
    until: datetime


def _aware(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    if value is not None and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


@router.get("/timing/summary", response=TimingSummaryOut)
def timing_summary_get(
    request: HttpRequest,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: UUID | None = None,
) -> dict[str, Any]:
    """Setter and AI response times (count, p50, p90 in ms) for inbound messages that opened
    a burst, sent in [since, until). Defaults: the 30 days up to now. `channel` narrows to
    one of the workspace's channels."""
    if not is_postgresql(analytics_db()):
        raise DomainError(POSTGRESQL_REQUIRED, status=503)
    end = _aware(until) or timezone.now()
    start = _aware(since) or end - DEFAULT_WINDOW
    window = timing_window(
        workspace=actor_of(request).workspace, since=start, until=end, channel_id=channel
    )
    return {**timing_summary(window), "since": window.since, "until": window.until}
