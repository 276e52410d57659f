"""The server-side SVG charts and the duration formats the page shows."""

from __future__ import annotations

import re
from itertools import pairwise
from xml.etree import ElementTree

import pytest

from timing.charts import Bar, Series, histogram, line_chart, nice_ticks
from timing.formatting import duration_unit, format_duration_ms

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def texts(root: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_nice_ticks_are_round_and_cover_the_maximum() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(100) == [0, 25, 50, 75, 100]
    assert nice_ticks(0.37) == [0, 0.1, 0.2, 0.3, 0.4]


def test_line_chart_labels_axes_and_series_directly_and_breaks_at_gaps() -> None:
    svg = line_chart(
        chart_id="demo",
        title="Per day",
        x_labels=["Mon", "Tue", "Wed", "Thu"],
        series=[
            Series("Setter p50", [1.0, None, 3.0, 4.0], tone=1),
            Series("AI p50", [2.0, 2.5, None, None], tone=2, dashed=True),
        ],
        y_label="Response time (minutes)",
        x_label="Day",
    )
    root = parse(svg)

    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Per day"
    labels = texts(root)
    assert {"Response time (minutes)", "Day", "Setter p50", "AI p50", "Mon", "Thu"} <= set(labels)
    assert [t for t in labels if re.fullmatch(r"[\d.]+", t)] == ["0", "1", "2", "3", "4"]
    paths = [p.get("d") for p in root.iter(f"{SVG}path")]
    # The setter line breaks at Tuesday: two segments; the AI line is one.
    assert [d.count("M") for d in paths] == [2, 1]
    assert len(list(root.iter(f"{SVG}circle"))) == 5
    groups = [g.get("class") for g in root.iter(f"{SVG}g")]
    assert groups == ["chart-series chart-tone-1", "chart-series chart-tone-2 chart-dashed"]
    assert "style=" not in svg


def test_direct_labels_never_overlap() -> None:
    svg = line_chart(
        chart_id="close",
        title="Close values",
        x_labels=["a", "b"],
        series=[Series(f"S{i}", [1.0, 1.0 + i / 100], tone=1 + i % 4) for i in range(4)],
        y_label="y",
    )
    root = parse(svg)
    ys = sorted(
        float(t.get("y"))
        for t in root.iter(f"{SVG}text")
        if "chart-direct-label" in (t.get("class") or "")
    )
    assert len(ys) == 4
    assert all(b - a >= 15 for a, b in pairwise(ys))


def test_histogram_labels_each_bar_with_its_value_and_bucket() -> None:
    svg = histogram(
        chart_id="dist",
        title="Replies by response time",
        bars=[Bar("< 1m", 3), Bar("1 to 5m", 0), Bar("≥ 1d", 12)],
        y_label="Replies",
        x_label="Response time",
        tone=2,
    )
    root = parse(svg)

    rects = list(root.iter(f"{SVG}rect"))
    heights = [float(r.get("height")) for r in rects]
    assert heights[1] == 0
    assert heights[2] > heights[0] > 0
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    assert values == ["3", "0", "12"]
    assert {"< 1m", "1 to 5m", "≥ 1d", "Replies", "Response time"} <= set(texts(root))


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    svg = line_chart(
        chart_id="esc",
        title=hostile,
        x_labels=[hostile],
        series=[Series(hostile, [1.0])],
        y_label=hostile,
    ) + histogram(chart_id="esc2", title=hostile, bars=[Bar(hostile, 1)], y_label=hostile)

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_bad_chart_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="chart_id"):
        line_chart(chart_id='x" onload="1', title="t", x_labels=[], series=[], y_label="y")
    with pytest.raises(ValueError, match="tone"):
        Series("s", [1.0], tone=9)
    with pytest.raises(ValueError, match="one value per x label"):
        line_chart(chart_id="n", title="t", x_labels=["a"], series=[Series("s", [])], y_label="y")


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "—"),
        (850, "850 ms"),
        (4_250, "4.2 s"),
        (42_400, "42 s"),
        (245_000, "4m 05s"),
        (3_720_000, "1h 02m"),
        (183_600_000, "2d 3h"),
    ],
)
def test_durations_read_naturally(ms: int | None, text: str) -> None:
    assert format_duration_ms(ms) == text


def test_axis_units_keep_numbers_small() -> None:
    assert [duration_unit(ms).name for ms in (90_000, 150_000, 3_600_000, 30 * 3_600_000, 9e9)] == [
        "seconds",
        "minutes",
        "minutes",
        "hours",
        "days",
    ]
