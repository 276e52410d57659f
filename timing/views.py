"""The response-timing page: team (setter) versus AI speed, per day, distribution, per person, and
the AI's chosen versus actual delay, for one channel or all, over a date range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString

from config.charts import Bar, Series, histogram, line_chart
from config.db import is_postgresql
from timing import selectors
from timing.formatting import duration_unit
from workspaces.analytics_db import analytics_db
from workspaces.context import session_actor
from workspaces.models import Channel, Workspace, WorkspaceSettings

DEFAULT_DAYS = 30
MAX_DAYS = 366


class TimingFilterForm(forms.Form):
    """GET filters; an invalid value is reported next to its field and its default used."""

    channel = forms.ChoiceField(required=False, label="Channel")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Any, *, channels: list[Channel], today: date) -> None:
        # Missing or empty parameters take their defaults, which the inputs then show.
        defaults = {"start": self.default_start(today).isoformat(), "end": today.isoformat()}
        super().__init__({**defaults, **{k: v for k, v in data.items() if v}})
        self.today = today
        field = self.fields["channel"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "All channels")] + [
            (str(c.pk), f"{c.name} ({c.get_kind_display()})") for c in channels
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                self.add_error("start", "Pick a start date on or before the end date.")
            elif (end - start).days >= MAX_DAYS:
                self.add_error("start", f"Pick at most {MAX_DAYS} days.")
        return cleaned

    @staticmethod
    def default_start(end: date) -> date:
        return end - timedelta(days=DEFAULT_DAYS - 1)

    def value(self, name: str) -> Any:
        """The cleaned value, or None when it is invalid (its error is shown)."""
        if name in self.errors:
            return None
        return self.cleaned_data.get(name)

    def dates(self) -> tuple[date, date]:
        end = self.value("end") or self.today
        start = self.value("start") or self.default_start(end)
        if start > end or (end - start).days >= MAX_DAYS:
            end, start = self.today, self.default_start(self.today)
        return start, end


@dataclass(frozen=True)
class Charts:
    by_day: SafeString
    setter_histogram: SafeString
    ai_histogram: SafeString
    delay: SafeString | None


def _charts(
    days: list[selectors.Day],
    distribution: dict[str, list[tuple[str, int]]],
    delays: list[selectors.DelayRow],
) -> Charts:
    largest = max(
        (
            v
            for d in days
            for v in (d.setter_p90_ms, d.ai_p90_ms, d.setter_p50_ms, d.ai_p50_ms)
            if v
        ),
        default=0,
    )
    unit = duration_unit(largest)
    by_day = line_chart(
        chart_id="timing-by-day",
        title="Median (p50) and p90 response time per day",
        description="Time from a lead's first unanswered message to the first reply from the team "
        "and to the first AI reply, per day.",
        x_labels=[f"{d.day:%b} {d.day.day}" for d in days],
        series=[
            Series("Team p50", [unit.of(d.setter_p50_ms) for d in days], tone=1),
            Series("Team p90", [unit.of(d.setter_p90_ms) for d in days], tone=1, dashed=True),
            Series("AI p50", [unit.of(d.ai_p50_ms) for d in days], tone=2),
            Series("AI p90", [unit.of(d.ai_p90_ms) for d in days], tone=2, dashed=True),
        ],
        y_label=f"Response time ({unit.name})",
        x_label="Day (UTC) of the lead's message",
    )

    def bars(kind: str) -> list[Bar]:
        return [Bar(label, count) for label, count in distribution[kind]]

    setter_histogram = histogram(
        chart_id="timing-setter-distribution",
        title="Team replies by response time",
        bars=bars("setter"),
        y_label="Replies",
        x_label="Response time",
        tone=1,
    )
    ai_histogram = histogram(
        chart_id="timing-ai-distribution",
        title="AI replies by response time",
        bars=bars("ai"),
        y_label="Replies",
        x_label="Response time",
        tone=2,
    )
    delay = None
    if delays:
        delay_unit = duration_unit(max((r.actual_p90_ms or 0) for r in delays))
        delay = line_chart(
            chart_id="timing-delay",
            title="Chosen versus actual AI delay",
            description="For AI replies sent after a scheduled delay: the delay chosen and "
            "the delay that actually passed, by the chosen delay's minute.",
            x_labels=[f"{r.chosen_minute}m" for r in delays],
            series=[
                Series("Chosen", [delay_unit.of(r.chosen_p50_ms) for r in delays], tone=3),
                Series("Actual p50", [delay_unit.of(r.actual_p50_ms) for r in delays], tone=2),
                Series(
                    "Actual p90",
                    [delay_unit.of(r.actual_p90_ms) for r in delays],
                    tone=2,
                    dashed=True,
                ),
            ],
            y_label=f"Delay ({delay_unit.name})",
            x_label="Chosen delay (whole minutes)",
            width=560,
        )
    return Charts(by_day, setter_histogram, ai_histogram, delay)


def _report(
    workspace: Workspace, channels: list[Channel], form: TimingFilterForm
) -> dict[str, Any]:
    start, end = form.dates()
    channel = next((c for c in channels if str(c.pk) == form.value("channel")), None)
    window = selectors.TimingWindow(
        workspace=workspace,
        since=datetime.combine(start, time.min, UTC),
        until=datetime.combine(end + timedelta(days=1), time.min, UTC),
        channel=channel,
    )
    summary = selectors.timing_summary(window)
    report: dict[str, Any] = {
        "start": start,
        "end": end,
        "channel": channel,
        "summary": summary,
        "has_data": bool(summary["setter"]["count"] or summary["ai"]["count"]),
    }
    if not report["has_data"]:
        report["workspace_has_timing"] = selectors.workspace_has_timing(workspace)
        return report
    days = selectors.timing_by_day(window)
    delays = selectors.timing_delay_attribution(window)
    report.update(
        days=days,
        setters=selectors.timing_by_setter(window),
        delays=delays,
        charts=_charts(days, selectors.timing_distribution(window), delays),
    )
    if not delays:
        report["auto_send_enabled"] = (
            WorkspaceSettings.objects.using(analytics_db())
            .filter(workspace=workspace)
            .values_list("auto_send_enabled", flat=True)
            .first()
        )
    return report


@login_required
def timing_page(request: HttpRequest) -> HttpResponse:
    actor = session_actor(request)
    if actor is None:
        return render(request, "timing/page.html", {"actor": None})
    if not is_postgresql():
        return render(request, "timing/page.html", {"actor": actor, "unsupported": True})
    channels = list(
        selectors.analytics_channels().filter(workspace=actor.workspace).order_by("kind", "name")
    )
    form = TimingFilterForm(
        request.GET, channels=channels, today=timezone.now().astimezone(UTC).date()
    )
    context = {"actor": actor, "form": form, **_report(actor.workspace, channels, form)}
    return render(request, "timing/page.html", context)
