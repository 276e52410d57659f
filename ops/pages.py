"""What each /ops/ page shows: the selectors' figures arranged for the templates, with the
charts drawn. Views stay one line; nothing here writes. The figures read through
`analytics_db()`; the workspace and settings a knob form edits come from the view (default)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.paginator import Paginator
from django.http import QueryDict
from django.utils import timezone
from django.utils.safestring import SafeString

from autosend.kill_switches import kill_switches
from autosend.shadow import ShadowWindow, shadow_figures
from config.charts import Bar, Series, histogram, line_chart
from ops.figures import (
    WINDOWS,
    WindowFigures,
    ai_ops_feed,
    ops_health_snapshot,
    rates_over_time,
    revision_figures,
    revision_latency_histogram,
    settings_changes,
    stage_summary,
    workspaces_with_settings,
)
from ops.forms import FeedFilterForm, JobFilterForm, KnobsForm
from ops.quality import (
    MIN_DRAFTS_FOR_SUGGESTION,
    TARGET_APPROVED_UNCHANGED,
    prompt_quality,
    review_outcomes,
    threshold_suggestions,
)
from pipeline.models import Stage
from pipeline.provider_health import providers_health
from workspaces.analytics_db import analytics_db
from workspaces.jobs import job_runs
from workspaces.models import REVISION_KNOBS, Workspace

WORKSPACES_PER_PAGE = 50
HISTORY_PER_PAGE = 25
FEED_PER_PAGE = 50
JOBS_PER_PAGE = 50
HEALTH_POLL_SECONDS = 10
# The overview's workspace list shows the longest shadow window: the evidence for auto-send.
OVERVIEW_SHADOW_WINDOW = "30d"
JOB_COLUMN_METRICS = frozenset({"rows_processed", "duration_ms"})
STAGE_LABELS = dict(Stage.choices)


def knob_display(value: Any) -> str:
    """A knob value as people read it: on/off for switches, the value otherwise."""
    if value is True:
        return "on"
    if value is False:
        return "off"
    return "—" if value is None else str(value)


def _whole(value: float) -> str:
    return f"{value:,.0f}"


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _rates_chart(now: datetime) -> SafeString:
    buckets = rates_over_time(now=now)
    return line_chart(
        chart_id="ops-rates",
        title="Auto-send rate and revision applied rate, per 6 hours, last 3 days",
        # One tick per day, at midnight; the other buckets are points without a label.
        x_labels=[
            timezone.localtime(b.start).strftime("%a %H:%M") if b.start.hour == 0 else ""
            for b in buckets
        ],
        series=[
            Series("auto-send", [b.auto_send_rate for b in buckets], tone=2),
            Series("revision applied", [b.applied_rate for b in buckets], tone=4),
        ],
        y_label="rate",
        y_max=1.0,
        format_y=_percent,
        width=640,
        height=240,
    )


def _window_tables(figures: dict[str, WindowFigures]) -> dict[str, Any]:
    """Per-channel and per-reason rows with one cell per window (24 h, 3 d)."""
    columns = [figures[name] for name in WINDOWS]
    kinds = sorted({c.channel_kind for f in columns for c in f.applied_by_channel})
    reasons: dict[str, list[int]] = {}
    for i, f in enumerate(columns):
        for reason, n in f.block_reasons:
            reasons.setdefault(reason, [0] * len(columns))[i] = n
    return {
        "columns": columns,
        "channel_rows": [
            (
                kind,
                [
                    next((c for c in f.applied_by_channel if c.channel_kind == kind), None)
                    for f in columns
                ],
            )
            for kind in kinds
        ],
        "reason_rows": sorted(reasons.items(), key=lambda item: (-item[1][-1], item[0])),
    }


def ops_health_context(*, now: datetime | None = None) -> dict[str, Any]:
    """The health tiles, which the overview re-fetches every `HEALTH_POLL_SECONDS`."""
    now = now or timezone.now()
    return {"health": ops_health_snapshot(now=now), "now": now, "poll_seconds": HEALTH_POLL_SECONDS}


def auto_send_confirmation_context(*, workspace: Workspace, next_url: str) -> dict[str, Any]:
    """What turning auto-send on changes, for the page that asks first: the drafts waiting
    now stay for people (only messages that arrive later are decided), whether the global
    kill switch would hold everything anyway, and the shadow evidence (how many drafts would
    have gone out, and how often people approved those unchanged)."""
    ws = workspaces_with_settings().get(pk=workspace.pk)
    return {
        "ops_section": "overview",
        "workspace": ws,
        "ws_settings": ws.settings,
        "pending": ws.pending_review,  # type: ignore[attr-defined]  # annotated
        "kill_switches": kill_switches(),
        "next": next_url,
        "shadow": shadow_figures(workspace_ids=[ws.pk])[ws.pk],
    }


def _shadow_window(windows: list[ShadowWindow], name: str) -> ShadowWindow:
    return next(window for window in windows if window.window == name)


def ops_overview_context(*, page: Any = None, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    workspaces = Paginator(workspaces_with_settings(), WORKSPACES_PER_PAGE).get_page(page)
    page_ids = [ws.pk for ws in workspaces]
    suggestions = threshold_suggestions(
        review_outcomes(now=now, workspace_ids=page_ids, edit_sizes=False)
    )
    # One query for the whole page; each row shows its 30-day window.
    shadow = shadow_figures(workspace_ids=page_ids, now=now)
    return {
        "ops_section": "overview",
        **ops_health_context(now=now),
        "providers": providers_health(now=now, using=analytics_db()),
        **_window_tables(revision_figures(now=now)),
        "rates_chart": _rates_chart(now),
        "latency_chart": histogram(
            chart_id="ops-revision-latency",
            title="Revision loop latency per draft, last 3 days",
            bars=[Bar(label, n) for label, n in revision_latency_histogram(now=now)],
            y_label="drafts",
            tone=2,
            width=640,
            height=240,
        ),
        "workspaces": workspaces,
        "workspace_rows": [
            (ws, suggestions.get(ws.pk), _shadow_window(shadow[ws.pk], OVERVIEW_SHADOW_WINDOW))
            for ws in workspaces
        ],
        "shadow_window_days": OVERVIEW_SHADOW_WINDOW.removesuffix("d"),
        "recent_changes": settings_changes()[:10],
        "min_drafts": MIN_DRAFTS_FOR_SUGGESTION,
        "target": TARGET_APPROVED_UNCHANGED,
    }


def ops_workspace_context(
    *, workspace: Workspace, form: KnobsForm | None = None, history_page: Any = None
) -> dict[str, Any]:
    ws_settings = workspace.settings
    outcomes = review_outcomes(workspace_ids=[workspace.pk], edit_sizes=False)
    return {
        "ops_section": "overview",
        "workspace": workspace,
        "ws_settings": ws_settings,
        "form": form or KnobsForm(ws_settings=ws_settings),
        "revision_knobs": sorted(REVISION_KNOBS),
        "suggestion": threshold_suggestions(outcomes).get(workspace.pk),
        "shadow": shadow_figures(workspace_ids=[workspace.pk])[workspace.pk],
        "history": Paginator(settings_changes(workspace=workspace), HISTORY_PER_PAGE).get_page(
            history_page
        ),
        "kill_switches": kill_switches(),
        "min_drafts": MIN_DRAFTS_FOR_SUGGESTION,
        "target": TARGET_APPROVED_UNCHANGED,
    }


def ops_feed_context(params: QueryDict) -> dict[str, Any]:
    form = FeedFilterForm(params)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "stage": data["stage"],
            "workspace_id": data["workspace"].pk if data["workspace"] else None,
            "outcome": data["outcome"],
            "source": data["source"],
        }
    now = timezone.now()
    events = Paginator(ai_ops_feed(now=now, **filters), FEED_PER_PAGE).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    summary = stage_summary(now=now, workspace_id=filters.get("workspace_id"))
    return {
        "ops_section": "feed",
        "form": form,
        "events": events,
        "query": query.urlencode(),
        "summary": summary,
        "stage_labels": STAGE_LABELS,
        "p95_chart": histogram(
            chart_id="ops-stage-p95",
            title="p95 latency of LLM calls by stage, last 3 days",
            bars=[
                Bar(s.stage.removeprefix("auto_send_").removeprefix("draft_"), s.p95_ms or 0)
                for s in summary
            ],
            y_label="ms",
            tone=2,
            format_value=_whole,
            width=640,
            height=240,
        ),
    }


def ops_quality_context(*, now: datetime | None = None) -> dict[str, Any]:
    outcomes = review_outcomes(now=now)
    suggestions = threshold_suggestions(outcomes)
    workspaces = list(
        Workspace.objects.using(analytics_db()).select_related("settings").order_by("name")
    )
    return {
        "ops_section": "quality",
        "prompts": prompt_quality(outcomes),
        "thresholds": [(ws, suggestions.get(ws.pk)) for ws in workspaces],
        "min_drafts": MIN_DRAFTS_FOR_SUGGESTION,
        "target": TARGET_APPROVED_UNCHANGED,
    }


def ops_jobs_context(params: QueryDict) -> dict[str, Any]:
    """Background job runs, newest first; an unknown filter value is ignored (and said so)."""
    form = JobFilterForm(params)
    filters = form.cleaned_data if form.is_valid() else {}
    runs = job_runs(type=filters.get("type", ""), status=filters.get("status", ""))
    page = Paginator(runs, JOBS_PER_PAGE).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    return {
        "ops_section": "jobs",
        "form": form,
        "runs": page,
        # Each run with its job-specific counts by name (rows and duration have columns).
        "rows": [
            (run, sorted((k, v) for k, v in run.metrics.items() if k not in JOB_COLUMN_METRICS))
            for run in page
        ],
        "query": query.urlencode(),
    }
