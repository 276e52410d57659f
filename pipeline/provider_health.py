"""How the model providers are doing, read from `AIInteraction` rows (one per LLM call): calls,
errors and latency per provider over a recent window, and when each last answered well.

Shared by the /ops/ provider-health card and `/metrics`, so both tell the same story. The
queries read only the window (the `created_at` index), so a scrape stays cheap however long
the telemetry is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import Count, Max, Q
from django.utils import timezone

from config.db import is_postgresql
from pipeline.models import AIInteraction, PipelineRun

HEALTH_WINDOW = timedelta(minutes=15)
# How far back "last success" looks when the window has none (bounded: during a long outage
# a scan for the last good call must not walk every failed one).
LAST_SUCCESS_LOOKBACK = timedelta(hours=24)
OK = AIInteraction.Outcome.OK


@dataclass(frozen=True)
class ProviderHealth:
    provider: str
    calls: int
    errors: int
    last_success_at: datetime | None
    # Calls by outcome (`ok`, `timeout`, `rate_limited`, …) in the window.
    outcomes: dict[str, int] = field(default_factory=dict)
    # Latency quantiles in ms over the window (PostgreSQL only), e.g. {0.5: 812.0, 0.95: …}.
    latency_ms: dict[float, float] = field(default_factory=dict)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None

    @property
    def failing(self) -> bool:
        """Every call in the window failed: the provider is down for us, not just flaky."""
        return self.calls > 0 and self.errors == self.calls


def providers_health(
    *, now: datetime | None = None, window: timedelta = HEALTH_WINDOW, using: str = "default"
) -> list[ProviderHealth]:
    """One entry per provider that was called in the window, by name."""
    now = now or timezone.now()
    since = now - window
    rows = (
        AIInteraction.objects.using(using)
        .filter(created_at__gte=since, created_at__lte=now)
        .values("provider", "outcome")
        .annotate(n=Count("pk"), last_ok=Max("created_at", filter=Q(outcome=OK)))
        .order_by()
    )
    outcomes: dict[str, dict[str, int]] = {}
    last_ok: dict[str, datetime] = {}
    for row in rows:
        outcomes.setdefault(row["provider"], {})[row["outcome"]] = row["n"]
        if row["last_ok"] is not None:
            last_ok[row["provider"]] = row["last_ok"]
    latencies = _latency_quantiles(since=since, now=now, using=using)
    health = []
    for provider in sorted(outcomes):
        counts = outcomes[provider]
        calls = sum(counts.values())
        health.append(
            ProviderHealth(
                provider=provider,
                calls=calls,
                errors=calls - counts.get(OK, 0),
                last_success_at=last_ok.get(provider)
                or _last_success_before(provider=provider, before=since, using=using),
                outcomes=dict(sorted(counts.items())),
                latency_ms=latencies.get(provider, {}),
            )
        )
    return health


def _last_success_before(*, provider: str, before: datetime, using: str) -> datetime | None:
    return (
        AIInteraction.objects.using(using)
        .filter(
            provider=provider,
            outcome=OK,
            created_at__lt=before,
            created_at__gte=before - LAST_SUCCESS_LOOKBACK,
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


QUANTILES = (0.5, 0.95)


def _latency_quantiles(
    *, since: datetime, now: datetime, using: str
) -> dict[str, dict[float, float]]:
    if not is_postgresql(using):
        return {}
    table = AIInteraction._meta.db_table
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT provider, percentile_cont(%s) WITHIN GROUP (ORDER BY latency_ms),"  # noqa: S608
            f" percentile_cont(%s) WITHIN GROUP (ORDER BY latency_ms) FROM {table}"
            " WHERE created_at >= %s AND created_at <= %s GROUP BY provider",
            [*QUANTILES, since, now],
        )
        return {
            provider: {QUANTILES[0]: float(p50), QUANTILES[1]: float(p95)}
            for provider, p50, p95 in cursor.fetchall()
        }


# --- Runs parked for the provider, as operators see them ------------------------------------

WAITING_SHOWN = 5


@dataclass(frozen=True)
class WaitingRun:
    """A message with no draft yet because its run is parked until the model provider answers."""

    lead_name: str
    channel_kind: str
    message_received_at: datetime
    reason: str  # e.g. "rate_limited", from the run's waiting_reason
    retries: int
    next_try_at: datetime | None


def runs_waiting_for_provider(
    *, workspace_id: Any, conversation_id: Any = None, limit: int = WAITING_SHOWN
) -> list[WaitingRun]:
    """Up to `limit` + 1 parked runs of the workspace (or one conversation), oldest first, so
    a page can say "and more" without counting. One query on the running-runs index."""
    runs = PipelineRun.objects.filter(
        workspace_id=workspace_id, status=PipelineRun.Status.RUNNING
    ).exclude(waiting_reason="")
    if conversation_id is not None:
        runs = runs.filter(trigger_message__conversation_id=conversation_id)
    rows = runs.order_by("started_at").values_list(
        "trigger_message__lead__name",
        "channel__kind",
        "trigger_message__received_at",
        "waiting_reason",
        "retries",
        "lease_expires_at",
    )[: limit + 1]
    return [
        WaitingRun(
            lead_name=name or "A lead",
            channel_kind=kind,
            message_received_at=received_at,
            reason=reason.rpartition(":")[2].strip(),
            retries=retries,
            next_try_at=next_try_at,
        )
        for name, kind, received_at, reason, retries, next_try_at in rows
    ]
