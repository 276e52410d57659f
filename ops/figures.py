"""What super-admins watch on /ops/: the health snapshot, the auto-send and revision figures
over the last 24 hours and 3 days, and the AI-ops feed. Reads only.

Every window is half-open, `[now - window, now)`, and every figure is defined next to the
query that computes it (docs/runbook.md repeats the definitions for the people on call).
Every query reads through `analytics_db()` (the read-only connection when one is configured)
and selects no column the read-only role is denied (message and draft text, secrets).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone
from kombu import Connection

from autosend.kill_switches import kill_switches
from autosend.models import ScheduledSend
from config.celery import app as celery_app
from drafts.models import Draft, Message
from pipeline.models import AIInteraction, PipelineArtifact, PipelineRun, Stage
from workspaces.analytics_db import analytics_db
from workspaces.health import broker_status, database_status
from workspaces.models import SettingsChange, Workspace

logger = logging.getLogger(__name__)

WINDOWS: dict[str, timedelta] = {"24h": timedelta(hours=24), "3d": timedelta(days=3)}
FEED_WINDOW = timedelta(days=3)
RATE_BUCKET_HOURS = 6
# Upper edges (ms) of the revision-latency histogram; the last bar is "60 s or more".
LATENCY_EDGES_MS: tuple[int, ...] = (1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000)
# The artifacts of the revision loop: selector and reviser, and the re-evaluations
# (`auto_send_evaluation` iterations 1..3; iteration 0 is the first evaluation, not revision).
REVISION_LOOP = Q(stage__in=[Stage.REVISION_SELECTOR, Stage.REVISION_REVISER]) | Q(
    stage=Stage.EVALUATION, iteration__gte=1
)


class PercentileCont(Aggregate):
    """PostgreSQL `percentile_cont(f) WITHIN GROUP (ORDER BY expr)`: the interpolated
    percentile (p50 of 100 and 200 is 150)."""

    function = "percentile_cont"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)r) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within [0, 1]")
        super().__init__(expression, fraction=float(fraction), **extra)


def _between(field_name: str, since: datetime, until: datetime) -> Q:
    return Q(**{f"{field_name}__gte": since, f"{field_name}__lt": until})


# --- Health snapshot ----------------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    """Work waiting right now.

    inbound_waiting: inbound messages with neither a PipelineRun nor a Draft, received within
      the run-retention window (older runs are purged, so older messages are not "waiting").
    drafts_pending_review: drafts in status `pending`.
    sends_due: ScheduledSends still `scheduled` whose `run_at` has passed (the delivery beat
      is behind when this stays above zero).
    sends_unknown: ScheduledSends in `unknown`: an operator must check the transport.
    """

    inbound_waiting: int
    oldest_inbound_waiting_at: datetime | None
    drafts_pending_review: int
    sends_due: int
    oldest_send_due_at: datetime | None
    sends_unknown: int


@dataclass(frozen=True)
class HealthSnapshot:
    kill_switches: dict[str, bool]
    database: str
    broker: str
    queue_depth: int | None  # None: not measurable on this broker ("n/a")
    backlog: Backlog


def celery_queue_depth(queue: str | None = None, timeout: float = 1.0) -> int | None:
    """Messages waiting in the default Celery queue (all priority lists summed), on Redis.

    None for other brokers or when the broker cannot be reached: the broker status says which.
    """
    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(("redis://", "rediss://")):
        return None
    name = queue or celery_app.conf.task_default_queue
    try:
        with Connection(
            url, connect_timeout=timeout, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
        ) as conn:
            # A non-passive declare on the Redis transport creates nothing; it reports the
            # summed LLEN of the queue's priority lists.
            channel: Any = conn.default_channel
            return int(channel.queue_declare(queue=name).message_count)
    except Exception:
        logger.warning("ops: queue depth unavailable", exc_info=False)
        return None


def backlog_snapshot(*, now: datetime | None = None) -> Backlog:
    now = now or timezone.now()
    db = analytics_db()
    retention = timedelta(days=settings.DRAFT_PIPELINE_RUN_RETENTION_DAYS)
    waiting = (
        Message.objects.using(db)
        .filter(direction=Message.Direction.INBOUND, received_at__gte=now - retention)
        .exclude(Exists(PipelineRun.objects.filter(trigger_message=OuterRef("pk"))))
        .exclude(Exists(Draft.objects.filter(trigger_message=OuterRef("pk"))))
        .aggregate(n=Count("pk"), oldest=Min("received_at"))
    )
    sends = (
        ScheduledSend.objects.using(db)
        .filter(
            Q(status=ScheduledSend.Status.SCHEDULED, run_at__lte=now)
            | Q(status=ScheduledSend.Status.UNKNOWN)
        )
        .aggregate(
            due=Count("pk", filter=Q(status=ScheduledSend.Status.SCHEDULED)),
            oldest_due=Min("run_at", filter=Q(status=ScheduledSend.Status.SCHEDULED)),
            unknown=Count("pk", filter=Q(status=ScheduledSend.Status.UNKNOWN)),
        )
    )
    return Backlog(
        inbound_waiting=waiting["n"],
        oldest_inbound_waiting_at=waiting["oldest"],
        drafts_pending_review=Draft.objects.using(db).filter(status=Draft.Status.PENDING).count(),
        sends_due=sends["due"],
        oldest_send_due_at=sends["oldest_due"],
        sends_unknown=sends["unknown"],
    )


def ops_health_snapshot(*, now: datetime | None = None) -> HealthSnapshot:
    """Everything on the health card of /ops/ (the public /api/v1/health stays minimal)."""
    broker = broker_status()
    return HealthSnapshot(
        kill_switches=kill_switches(),
        database=database_status(),
        broker=broker,
        queue_depth=celery_queue_depth() if broker == "ok" else None,
        backlog=backlog_snapshot(now=now),
    )


# --- Auto-send and revision figures --------------------------------------------------------


@dataclass(frozen=True)
class ChannelRate:
    channel_kind: str
    attempted: int
    applied: int

    @property
    def rate(self) -> float | None:
        return self.applied / self.attempted if self.attempted else None


@dataclass(frozen=True)
class WindowFigures:
    """Figures for one window.

    revision_attempted: drafts whose `revision_attempted_at` falls in the window.
    revision_applied: of those, drafts with `revision_applied` (a revised text won).
    mean_confidence_gain: mean of `final_confidence - original_confidence` over the applied
      drafts that have both (what revision adds when it is used); None without any.
    revision_latency_p50_ms / _p95_ms: per attempted draft, the sum of `latency_ms` of its
      run's revision-loop artifacts (selector, reviser, evaluation iterations >= 1); the
      interpolated percentiles over those drafts. Drafts without loop artifacts are left out.
    drafts_evaluated: drafts created in the window that went through the auto-send decision
      (`auto_send_action` is send, review or block, not `none`).
    drafts_auto_sent: of those, action `send`. auto_send_rate = auto-sent / evaluated.
    applied_by_channel: attempted and applied by the channel kind of the draft's conversation.
    block_reasons: drafts created in the window with action `block`, counted by reason.
    """

    window: str
    revision_attempted: int = 0
    revision_applied: int = 0
    mean_confidence_gain: float | None = None
    revision_latency_p50_ms: float | None = None
    revision_latency_p95_ms: float | None = None
    revision_latency_drafts: int = 0
    drafts_evaluated: int = 0
    drafts_auto_sent: int = 0
    applied_by_channel: list[ChannelRate] = field(default_factory=list)
    block_reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def applied_rate(self) -> float | None:
        return self.revision_applied / self.revision_attempted if self.revision_attempted else None

    @property
    def auto_send_rate(self) -> float | None:
        return self.drafts_auto_sent / self.drafts_evaluated if self.drafts_evaluated else None


def revision_figures(*, now: datetime | None = None) -> dict[str, WindowFigures]:
    """Both windows in four queries: each query computes both with FILTER clauses."""
    now = now or timezone.now()
    db = analytics_db()
    since = {name: now - span for name, span in WINDOWS.items()}
    widest = min(since.values())

    def attempted(name: str) -> Q:
        return _between("revision_attempted_at", since[name], now)

    def created(name: str) -> Q:
        return _between("created_at", since[name], now)

    evaluated = ~Q(auto_send_action=Draft.Action.NONE)
    applied_with_gain = Q(
        revision_applied=True, final_confidence__isnull=False, original_confidence__isnull=False
    )
    aggregates: dict[str, Any] = {}
    for name in WINDOWS:
        aggregates |= {
            f"attempted_{name}": Count("pk", filter=attempted(name)),
            f"applied_{name}": Count("pk", filter=attempted(name) & Q(revision_applied=True)),
            f"gain_{name}": Avg(
                F("final_confidence") - F("original_confidence"),
                filter=attempted(name) & applied_with_gain,
            ),
            f"evaluated_{name}": Count("pk", filter=created(name) & evaluated),
            f"sent_{name}": Count(
                "pk", filter=created(name) & Q(auto_send_action=Draft.Action.SEND)
            ),
        }
    drafts = Draft.objects.using(db).filter(
        _between("revision_attempted_at", widest, now) | _between("created_at", widest, now)
    )
    totals = drafts.aggregate(**aggregates)

    per_channel: dict[str, list[ChannelRate]] = defaultdict(list)
    channel_rows: Iterable[Mapping[str, Any]] = (
        Draft.objects.using(db)
        .filter(_between("revision_attempted_at", widest, now))
        .values("conversation__channel__kind")
        .annotate(
            **{
                f"{kind}_{name}": Count("pk", filter=attempted(name) & extra)
                for name in WINDOWS
                for kind, extra in (("attempted", Q()), ("applied", Q(revision_applied=True)))
            }
        )
        .order_by("conversation__channel__kind")
    )
    for row in channel_rows:
        for name in WINDOWS:
            if row[f"attempted_{name}"]:
                per_channel[name].append(
                    ChannelRate(
                        channel_kind=row["conversation__channel__kind"],
                        attempted=row[f"attempted_{name}"],
                        applied=row[f"applied_{name}"],
                    )
                )

    reasons: dict[str, list[tuple[str, int]]] = defaultdict(list)
    reason_rows: Iterable[Mapping[str, Any]] = (
        Draft.objects.using(db)
        .filter(_between("created_at", widest, now), auto_send_action="block")
        .values("blocked_reason")
        .annotate(**{f"n_{name}": Count("pk", filter=created(name)) for name in WINDOWS})
    )
    for row in reason_rows:
        for name in WINDOWS:
            if row[f"n_{name}"]:
                reasons[name].append((row["blocked_reason"] or "unspecified", row[f"n_{name}"]))
    for rows in reasons.values():
        rows.sort(key=lambda pair: (-pair[1], pair[0]))

    latency = _revision_latency(since=since, now=now)
    return {
        name: WindowFigures(
            window=name,
            revision_attempted=totals[f"attempted_{name}"],
            revision_applied=totals[f"applied_{name}"],
            mean_confidence_gain=totals[f"gain_{name}"],
            revision_latency_p50_ms=latency[f"p50_{name}"],
            revision_latency_p95_ms=latency[f"p95_{name}"],
            revision_latency_drafts=latency[f"n_{name}"],
            drafts_evaluated=totals[f"evaluated_{name}"],
            drafts_auto_sent=totals[f"sent_{name}"],
            applied_by_channel=per_channel[name],
            block_reasons=reasons[name],
        )
        for name in WINDOWS
    }


def _revision_loop_latencies(*, since: datetime, now: datetime) -> QuerySet[Any, Any]:
    """One row per draft whose revision was attempted in [since, now): `ms`, the summed
    latency of its run's revision-loop artifacts, and `at`, when the attempt was claimed."""
    return (
        PipelineArtifact.objects.using(analytics_db())
        .filter(REVISION_LOOP)
        .filter(_between("run__draft__revision_attempted_at", since, now))
        .values("run_id")
        .annotate(ms=Sum("latency_ms"), at=Max("run__draft__revision_attempted_at"))
        .order_by()
    )


def _revision_latency(*, since: dict[str, datetime], now: datetime) -> dict[str, Any]:
    widest = min(since.values())
    aggregates: dict[str, Any] = {}
    for name, start in since.items():
        in_window = Q(at__gte=start)
        aggregates |= {
            f"n_{name}": Count("run_id", filter=in_window),
            f"p50_{name}": PercentileCont("ms", fraction=0.5, filter=in_window),
            f"p95_{name}": PercentileCont("ms", fraction=0.95, filter=in_window),
        }
    return _revision_loop_latencies(since=widest, now=now).aggregate(**aggregates)


def revision_latency_histogram(*, now: datetime | None = None) -> list[tuple[str, int]]:
    """Revision-loop latency per draft over the last 3 days, counted into fixed bins."""
    now = now or timezone.now()
    bins: list[tuple[str, Q]] = []
    low = 0
    for edge in LATENCY_EDGES_MS:
        bins.append((f"{low // 1000}-{edge // 1000} s", Q(ms__gte=low, ms__lt=edge)))
        low = edge
    bins.append((f"≥{low // 1000} s", Q(ms__gte=low)))
    counts = _revision_loop_latencies(since=now - WINDOWS["3d"], now=now).aggregate(
        **{f"b{i}": Count("run_id", filter=q) for i, (_, q) in enumerate(bins)}
    )
    return [(label, counts[f"b{i}"]) for i, (label, _) in enumerate(bins)]


@dataclass(frozen=True)
class RateBucket:
    start: datetime
    evaluated: int
    auto_sent: int
    attempted: int
    applied: int

    @property
    def auto_send_rate(self) -> float | None:
        return self.auto_sent / self.evaluated if self.evaluated else None

    @property
    def applied_rate(self) -> float | None:
        return self.applied / self.attempted if self.attempted else None


def bucket_start(moment: datetime, hours: int = RATE_BUCKET_HOURS) -> datetime:
    """The start of the clock-aligned bucket (00:00, 06:00, … UTC) holding `moment`."""
    moment = moment.astimezone(UTC)
    return moment.replace(hour=moment.hour - moment.hour % hours, minute=0, second=0, microsecond=0)


def rates_over_time(*, now: datetime | None = None) -> list[RateBucket]:
    """Auto-send rate and revision applied rate per 6-hour bucket over the last 3 days
    (hourly counts from the database, folded into buckets here; empty buckets included)."""
    now = now or timezone.now()
    since = now - WINDOWS["3d"]
    db = analytics_db()
    counts: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    created: Iterable[Mapping[str, Any]] = (
        Draft.objects.using(db)
        .filter(_between("created_at", since, now))
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour")
        .annotate(
            evaluated=Count("pk", filter=~Q(auto_send_action=Draft.Action.NONE)),
            auto_sent=Count("pk", filter=Q(auto_send_action=Draft.Action.SEND)),
        )
        .order_by()
    )
    for row in created:
        bucket = counts[bucket_start(row["hour"])]
        bucket["evaluated"] += row["evaluated"]
        bucket["auto_sent"] += row["auto_sent"]
    revised: Iterable[Mapping[str, Any]] = (
        Draft.objects.using(db)
        .filter(_between("revision_attempted_at", since, now))
        .annotate(hour=TruncHour("revision_attempted_at", tzinfo=UTC))
        .values("hour")
        .annotate(attempted=Count("pk"), applied=Count("pk", filter=Q(revision_applied=True)))
        .order_by()
    )
    for row in revised:
        bucket = counts[bucket_start(row["hour"])]
        bucket["attempted"] += row["attempted"]
        bucket["applied"] += row["applied"]
    start, last = bucket_start(since), bucket_start(now - timedelta(microseconds=1))
    buckets: list[RateBucket] = []
    while start <= last:
        c = counts.get(start, {})
        buckets.append(
            RateBucket(
                start=start,
                evaluated=c.get("evaluated", 0),
                auto_sent=c.get("auto_sent", 0),
                attempted=c.get("attempted", 0),
                applied=c.get("applied", 0),
            )
        )
        start += timedelta(hours=RATE_BUCKET_HOURS)
    return buckets


# --- Workspaces and their settings history ------------------------------------------------


def workspaces_with_settings() -> QuerySet[Workspace]:
    """Every workspace with its knobs and its count of drafts waiting for review."""
    pending = (
        Draft.objects.filter(workspace=OuterRef("pk"), status=Draft.Status.PENDING)
        .order_by()
        .values("workspace")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Workspace.objects.using(analytics_db())
        .select_related("settings")
        .annotate(pending_review=Coalesce(Subquery(pending, output_field=IntegerField()), 0))
        .order_by("name", "pk")
    )


def settings_changes(*, workspace: Workspace | None = None) -> QuerySet[SettingsChange]:
    """The audit trail, newest first, with who made each change (never their password hash,
    which the read-only role cannot read)."""
    qs = (
        SettingsChange.objects.using(analytics_db())
        .select_related("changed_by", "workspace")
        .defer("changed_by__password")
        .order_by("-created_at", "-id")
    )
    return qs if workspace is None else qs.filter(workspace=workspace)


# --- The AI-ops feed ----------------------------------------------------------------------

FEED_COLUMNS = (
    "at",
    "src",
    "ws_id",
    "ws_name",
    "run_ref",
    "stage_name",
    "iter",
    "model_name",
    "prompt_ver",
    "result",
    "attempt_no",
    "tokens_in",
    "tokens_out",
    "ms",
    "row_id",
)
FEED_SOURCES = {"call": "LLM call (AIInteraction)", "artifact": "Stage artifact"}


def _feed_shared_columns() -> dict[str, Any]:
    """The feed's columns that calls and artifacts name alike (new expressions per call)."""
    return {
        "at": F("created_at"),
        "run_ref": F("run_id"),
        "stage_name": F("stage"),
        "iter": F("iteration"),
        "model_name": F("model"),
        "prompt_ver": F("prompt_version"),
        "tokens_in": F("input_tokens"),
        "tokens_out": F("output_tokens"),
        "ms": F("latency_ms"),
        "row_id": F("id"),
    }


def ai_ops_feed(
    *,
    now: datetime | None = None,
    stage: str = "",
    workspace_id: Any = None,
    outcome: str = "",
    source: str = "",
) -> QuerySet[Any, dict[str, Any]]:
    """The last 3 days of stage events, newest first: every LLM call (AIInteraction, with its
    outcome and attempt) and every stage artifact (outcome `error` for `loop_error`, else
    `ok`). Numbers, names and ids only: never payloads or text."""
    now = now or timezone.now()
    since = now - FEED_WINDOW
    text = CharField()
    db = analytics_db()
    calls = AIInteraction.objects.using(db).filter(_between("created_at", since, now))
    artifacts = PipelineArtifact.objects.using(db).filter(_between("created_at", since, now))
    if stage:
        calls, artifacts = calls.filter(stage=stage), artifacts.filter(stage=stage)
    if workspace_id:
        calls = calls.filter(workspace_id=workspace_id)
        artifacts = artifacts.filter(run__workspace_id=workspace_id)
    call_rows = calls.annotate(
        **_feed_shared_columns(),
        src=Value("call", output_field=text),
        ws_id=F("workspace_id"),
        ws_name=F("workspace__name"),
        result=F("outcome"),
        attempt_no=F("attempt"),
    )
    artifact_rows = artifacts.annotate(
        **_feed_shared_columns(),
        src=Value("artifact", output_field=text),
        ws_id=F("run__workspace_id"),
        ws_name=F("run__workspace__name"),
        result=Case(
            When(stage=Stage.LOOP_ERROR, then=Value("error")),
            default=Value("ok"),
            output_field=text,
        ),
        attempt_no=Value(1, output_field=IntegerField()),
    )
    if outcome:
        call_rows = call_rows.filter(outcome=outcome)
        artifact_rows = artifact_rows.filter(result=outcome)
    parts = [
        qs.values(*FEED_COLUMNS).order_by()
        for name, qs in (("call", call_rows), ("artifact", artifact_rows))
        if source in ("", name)
    ]
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("-at", "src", "-row_id")


@dataclass(frozen=True)
class StageSummary:
    stage: str
    calls: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None
    tokens: int


def stage_summary(*, now: datetime | None = None, workspace_id: Any = None) -> list[StageSummary]:
    """LLM calls per stage over the last 3 days: count, non-ok outcomes, p50/p95 latency."""
    now = now or timezone.now()
    calls = AIInteraction.objects.using(analytics_db()).filter(
        _between("created_at", now - FEED_WINDOW, now)
    )
    if workspace_id:
        calls = calls.filter(workspace_id=workspace_id)
    rows = (
        calls.values("stage")
        .annotate(
            calls=Count("pk"),
            failures=Count("pk", filter=~Q(outcome=AIInteraction.Outcome.OK)),
            p50=PercentileCont("latency_ms", fraction=0.5),
            p95=PercentileCont("latency_ms", fraction=0.95),
            tokens=Sum(F("input_tokens") + F("output_tokens")),
        )
        .order_by("stage")
    )
    order = {value: i for i, value in enumerate(Stage.values)}
    summaries = [
        StageSummary(
            stage=row["stage"],
            calls=row["calls"],
            failures=row["failures"],
            p50_ms=row["p50"],
            p95_ms=row["p95"],
            tokens=row["tokens"] or 0,
        )
        for row in rows
    ]
    return sorted(summaries, key=lambda s: order.get(s.stage, len(order)))
