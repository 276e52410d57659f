"""Small server-side SVG charts for /ops/: lines for trends, bars for distributions.

Kept apart on purpose: `timing/charts.py` is being written in parallel and the two are to be
unified. No script, no inline style (the CSP forbids both): colours come from classes in
static/css/ops.css, with presentation attributes as a fallback. Every label is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Point = tuple[float, float | None]
Formatter = Callable[[float], str]

MARGIN_LEFT, MARGIN_TOP, MARGIN_BOTTOM = 52, 14, 38


def _plain(value: float) -> str:
    return f"{value:g}"


def _nice_max(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^k at or above `value` (axis tops read as round numbers)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _svg(width: int, height: int, title: str, body: list[str], css_class: str) -> SafeString:
    label = escape(title)
    return mark_safe(  # noqa: S308 - every interpolated string is escaped above or below
        f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{label}</title>{''.join(body)}</svg>"
    )


def _empty(width: int, height: int, title: str, css_class: str) -> SafeString:
    return _svg(
        width,
        height,
        title,
        [
            f'<text class="chart-empty" x="{width / 2:.1f}" y="{height / 2:.1f}" '
            'text-anchor="middle" fill="#667085">No data in this period yet</text>'
        ],
        css_class,
    )


def _y_axis(
    top: float, plot_w: float, plot_h: float, y_max: float, fmt: Formatter, y_label: str
) -> list[str]:
    parts = []
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w:.1f}" '
            f'y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6eb"/>'
            f'<text class="chart-tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(fmt(value))}</text>'
        )
    if y_label:
        parts.append(
            f'<text class="chart-axis-label" x="12" y="{top + plot_h / 2:.1f}" '
            f'text-anchor="middle" transform="rotate(-90 12 {top + plot_h / 2:.1f})">'
            f"{escape(y_label)}</text>"
        )
    return parts


def line_chart(
    series: Sequence[tuple[str, Sequence[Point]]],
    *,
    title: str,
    x_ticks: Sequence[tuple[float, str]] = (),
    y_label: str = "",
    y_max: float | None = None,
    y_format: Formatter = _plain,
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Lines with direct labels at their last point (no legend). A None y breaks the line."""
    ys = [y for _, points in series for _, y in points if y is not None]
    xs = [x for _, points in series for x, _ in points]
    if not ys:
        return _empty(width, height, title, "chart-line")
    label_room = 10 + 7 * max(len(name) for name, _ in series)
    plot_w = width - MARGIN_LEFT - label_room
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    top_value = y_max if y_max is not None else _nice_max(max(ys))
    x_low, x_high = min(xs), max(xs)
    x_span = (x_high - x_low) or 1.0

    def sx(x: float) -> float:
        return MARGIN_LEFT + (x - x_low) / x_span * plot_w

    def sy(y: float) -> float:
        return MARGIN_TOP + plot_h - min(y, top_value) / top_value * plot_h

    body = _y_axis(MARGIN_TOP, plot_w, plot_h, top_value, y_format, y_label)
    baseline = MARGIN_TOP + plot_h
    for x, text in x_ticks:
        body.append(
            f'<text class="chart-tick" x="{sx(x):.1f}" y="{baseline + 16:.1f}" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
    for index, (name, points) in enumerate(series):
        segments: list[list[str]] = [[]]
        last: tuple[float, float] | None = None
        for x, y in points:
            if y is None:
                segments.append([])
                continue
            segments[-1].append(f"{sx(x):.1f},{sy(y):.1f}")
            last = (sx(x), sy(y))
        css = f"chart-series chart-series-{index % 4}"
        for segment in segments:
            if len(segment) > 1:
                body.append(
                    f'<polyline class="{css}" fill="none" stroke="currentColor" '
                    f'stroke-width="2" points="{" ".join(segment)}"/>'
                )
            elif segment:
                cx, cy = segment[0].split(",")
                body.append(f'<circle class="{css}" cx="{cx}" cy="{cy}" r="2.5"/>')
        if last is not None:
            body.append(
                f'<text class="chart-direct-label chart-series-{index % 4}" '
                f'x="{last[0] + 6:.1f}" y="{last[1] + 4:.1f}">{escape(name)}</text>'
            )
    return _svg(width, height, title, body, "chart-line")


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    y_label: str = "",
    value_format: Formatter = _plain,
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """Vertical bars with their category under and their value above each bar."""
    if not bars or not any(value for _, value in bars):
        return _empty(width, height, title, "chart-bar")
    plot_w = width - MARGIN_LEFT - 10
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    top_value = _nice_max(max(value for _, value in bars))
    slot = plot_w / len(bars)
    bar_w = max(2.0, slot * 0.7)
    body = _y_axis(MARGIN_TOP, plot_w, plot_h, top_value, value_format, y_label)
    baseline = MARGIN_TOP + plot_h
    for i, (name, value) in enumerate(bars):
        x = MARGIN_LEFT + i * slot + (slot - bar_w) / 2
        h = value / top_value * plot_h
        body.append(
            f'<rect class="chart-bar-rect" x="{x:.1f}" y="{baseline - h:.1f}" '
            f'width="{bar_w:.1f}" height="{h:.1f}" fill="#2f5bd3"/>'
            f'<text class="chart-value" x="{x + bar_w / 2:.1f}" y="{baseline - h - 4:.1f}" '
            f'text-anchor="middle">{escape(value_format(value))}</text>'
            f'<text class="chart-tick" x="{x + bar_w / 2:.1f}" y="{baseline + 16:.1f}" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
    return _svg(width, height, title, body, "chart-bar")
