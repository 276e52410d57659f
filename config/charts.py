"""Server-side SVG charts for every page: a line chart for trends, a histogram for
distributions.

No JavaScript and no CDN: each function returns an inline `<svg>` (a SafeString) in which
every piece of text went through `format_html`, so labels from the database are escaped.
Colours and line styles come from classes in `static/css/charts.css` (`chart-tone-1` … 4,
`chart-dashed`), which every page showing a chart links; the CSP forbids inline styles.
Axes are labelled, series are labelled directly at their right end (no legend), and
`<title>`/`<desc>` make the chart readable by screen readers. A chart with nothing to draw
keeps its size and says so, so the page does not jump.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

TONES = (1, 2, 3, 4)
_ID = re.compile(r"^[a-z][a-z0-9-]*$")
_LABEL_GAP = 15  # vertical room a direct label needs
_LABEL_CHAR = 7  # horizontal room per character of a direct label (12px, semibold)
EMPTY_TEXT = "No data in this period yet"


def plain_number(value: float) -> str:
    """1200 → "1,200"; 2.5 → "2.5"."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0")


@dataclass(frozen=True)
class Series:
    """One line: a value per x label, None where there is no data (the line breaks)."""

    label: str
    values: Sequence[float | None]
    tone: int = 1
    dashed: bool = False

    def __post_init__(self) -> None:
        if self.tone not in TONES:
            raise ValueError(f"tone must be one of {TONES}")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `maximum`, about `count` of them."""
    if maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw = maximum / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    steps = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _join(parts: Iterable[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _f(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top


def _open(chart_id: str, frame: _Frame, title: str, description: str) -> SafeString:
    if not _ID.match(chart_id):
        raise ValueError("chart_id must be lowercase letters, digits and dashes")
    return format_html(
        '<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" role="img" '
        'aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>',
        id=chart_id,
        w=frame.width,
        h=frame.height,
        title=title,
        desc=description or title,
    )


def _empty(chart_id: str, frame: _Frame, title: str, description: str, text: str) -> SafeString:
    """The chart's frame with a sentence instead of data: same size, so nothing shifts."""
    return _open(chart_id, frame, title, description) + format_html(
        '<text class="chart-empty" x="{}" y="{}" text-anchor="middle" '
        'dominant-baseline="middle">{}</text></svg>',
        _f(frame.width / 2),
        _f(frame.height / 2),
        text,
    )


def _y_axis(
    frame: _Frame, ticks: list[float], y_of: Callable[[float], float], y_label: str, fmt: Callable
) -> list[SafeString]:
    parts = []
    for tick in ticks:
        y = _f(y_of(tick))
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-tick" x="{}" y="{}" text-anchor="end" '
                'dominant-baseline="middle">{}</text>',
                _f(frame.x0),
                _f(frame.x1),
                y,
                y,
                _f(frame.x0 - 6),
                y,
                fmt(tick),
            )
        )
    middle = (frame.y0 + frame.y1) / 2
    parts.append(
        format_html(
            '<line class="chart-axis" x1="{x}" x2="{x}" y1="{top}" y2="{bottom}"/>'
            '<text class="chart-axis-label" x="14" y="{m}" text-anchor="middle" '
            'transform="rotate(-90 14 {m})">{label}</text>',
            x=_f(frame.x0),
            top=_f(frame.y1),
            bottom=_f(frame.y0),
            m=_f(middle),
            label=y_label,
        )
    )
    return parts


def _x_axis(frame: _Frame, x_label: str) -> SafeString:
    line = format_html(
        '<line class="chart-axis" x1="{}" x2="{}" y1="{y}" y2="{y}"/>',
        _f(frame.x0),
        _f(frame.x1),
        y=_f(frame.y0),
    )
    if not x_label:
        return line
    return line + format_html(
        '<text class="chart-axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
        _f((frame.x0 + frame.x1) / 2),
        _f(frame.height - 6),
        x_label,
    )


def _spread(wanted: list[float], low: float, high: float, gap: float) -> list[float]:
    """Label positions as close to `wanted` (sorted) as possible, at least `gap` apart,
    within [low, high]."""
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, placed[-1] + gap) if placed else max(y, low))
    overflow = placed[-1] - high if placed else 0
    if overflow > 0:
        placed = [y - overflow for y in placed]
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    return placed


def line_chart(
    *,
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_label: str,
    x_label: str = "",
    format_y: Callable[[float], str] = plain_number,
    y_max: float | None = None,
    description: str = "",
    empty_text: str = EMPTY_TEXT,
    width: int = 760,
    height: int = 280,
    max_x_ticks: int = 8,
) -> SafeString:
    """Lines over evenly spaced categorical x positions (days, buckets), each labelled at
    its right end. An empty x label gets no tick; `y_max` fixes the top of the axis (a rate
    reads against 100%, whatever this period's highest value)."""
    longest = max((len(s.label) for s in series), default=0)
    frame = _Frame(
        width,
        height,
        left=62,
        right=20 + _LABEL_CHAR * longest,
        top=14,
        bottom=46 if x_label else 30,
    )
    n = len(x_labels)
    if any(len(s.values) != n for s in series):
        raise ValueError("every series needs one value per x label")
    values = [v for s in series for v in s.values if v is not None]
    if not values:
        return _empty(chart_id, frame, title, description, empty_text)
    ticks = nice_ticks(y_max if y_max is not None else max(values))
    top = ticks[-1] or 1

    def x_of(i: int) -> float:
        if n <= 1:
            return (frame.x0 + frame.x1) / 2
        return frame.x0 + i * (frame.x1 - frame.x0) / (n - 1)

    def y_of(v: float) -> float:
        return frame.y0 - (min(v, top) / top) * (frame.y0 - frame.y1)

    parts = [_open(chart_id, frame, title, description)]
    parts += _y_axis(frame, ticks, y_of, y_label, format_y)
    labelled = [(i, label) for i, label in enumerate(x_labels) if label]
    every = max(1, math.ceil(len(labelled) / max_x_ticks))
    for i, label in labelled[::every]:
        parts.append(
            format_html(
                '<text class="chart-tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                _f(x_of(i)),
                _f(frame.y0 + 16),
                label,
            )
        )
    parts.append(_x_axis(frame, x_label))

    ends: list[tuple[float, Series]] = []
    for s in series:
        points = [(x_of(i), y_of(v)) for i, v in enumerate(s.values) if v is not None]
        segments: list[list[tuple[float, float]]] = []
        current: list[tuple[float, float]] = []
        for i, v in enumerate(s.values):
            if v is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append((x_of(i), y_of(v)))
        if current:
            segments.append(current)
        path = " ".join(
            "M" + " L".join(f"{_f(x)} {_f(y)}" for x, y in segment) for segment in segments
        )
        classes = f"chart-series chart-tone-{s.tone}" + (" chart-dashed" if s.dashed else "")
        parts.append(format_html('<g class="{}">', classes))
        if path:
            parts.append(format_html('<path class="chart-line" d="{}"/>', path))
        parts.append(
            format_html_join(
                "",
                '<circle class="chart-dot" cx="{}" cy="{}" r="2.5"/>',
                ((_f(x), _f(y)) for x, y in points),
            )
        )
        parts.append(SafeString("</g>"))
        if points:
            ends.append((points[-1][1], s))

    ends.sort(key=lambda end: end[0])
    placed = _spread([y for y, _ in ends], frame.y1 + 4, frame.y0, _LABEL_GAP)
    for y, (_, s) in zip(placed, ends, strict=True):
        parts.append(
            format_html(
                '<text class="chart-direct-label chart-tone-{}" x="{}" y="{}" '
                'dominant-baseline="middle">{}</text>',
                s.tone,
                _f(frame.x1 + 8),
                _f(y),
                s.label,
            )
        )
    parts.append(SafeString("</svg>"))
    return _join(parts)


def histogram(
    *,
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    y_label: str,
    x_label: str = "",
    tone: int = 1,
    format_value: Callable[[float], str] = plain_number,
    description: str = "",
    empty_text: str = EMPTY_TEXT,
    width: int = 620,
    height: int = 260,
) -> SafeString:
    """Vertical bars, each labelled with its value above it and its bucket below it."""
    if tone not in TONES:
        raise ValueError(f"tone must be one of {TONES}")
    frame = _Frame(width, height, left=62, right=12, top=20, bottom=46 if x_label else 30)
    if not any(b.value for b in bars):
        return _empty(chart_id, frame, title, description, empty_text)
    ticks = nice_ticks(max(b.value for b in bars))
    top = ticks[-1] or 1

    def y_of(v: float) -> float:
        return frame.y0 - (v / top) * (frame.y0 - frame.y1)

    parts = [_open(chart_id, frame, title, description)]
    parts += _y_axis(frame, ticks, y_of, y_label, format_value)
    band = (frame.x1 - frame.x0) / max(len(bars), 1)
    parts.append(format_html('<g class="chart-series chart-tone-{}">', tone))
    for i, bar in enumerate(bars):
        x = frame.x0 + i * band + band * 0.12
        y = y_of(bar.value)
        center = _f(frame.x0 + (i + 0.5) * band)
        parts.append(
            format_html(
                '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"/>'
                '<text class="chart-value" x="{c}" y="{}" text-anchor="middle">{}</text>'
                '<text class="chart-tick" x="{c}" y="{}" text-anchor="middle">{}</text>',
                _f(x),
                _f(y),
                _f(band * 0.76),
                _f(frame.y0 - y),
                _f(y - 5),
                format_value(bar.value),
                _f(frame.y0 + 16),
                bar.label,
                c=center,
            )
        )
    parts.append(SafeString("</g>"))
    parts.append(_x_axis(frame, x_label))
    parts.append(SafeString("</svg>"))
    return _join(parts)
