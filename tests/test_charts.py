"""The shared server-side SVG charts (config/charts.py) drawn on /timing/ and /ops/: valid SVG
with no script or inline style (the CSP forbids both), escaped labels, round ticks, direct
labels instead of a legend, gaps where data is missing, and empty states."""

from __future__ import annotations

import re
from itertools import pairwise
from xml.etree import ElementTree

import pytest

from config.charts import EMPTY_TEXT, Bar, Series, histogram, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert "<script" not in svg
    assert "style=" not in svg
    return root


def texts(root: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def texts_of(root: ElementTree.Element, css_class: str) -> list[str]:
    return [
        t.text or "" for t in root.iter(f"{SVG}text") if css_class in (t.get("class") or "").split()
    ]


def test_nice_ticks_are_round_and_cover_the_maximum() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(100) == [0, 25, 50, 75, 100]
    assert nice_ticks(0.37) == [0, 0.1, 0.2, 0.3, 0.4]
    assert [nice_ticks(v)[-1] for v in (0.3, 12, 240, 2600)] == [0.3, 15, 300, 3000]


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

    assert root.find(f"{SVG}title").text == "Per day"
    labels = texts(root)
    assert {"Response time (minutes)", "Day", "Mon", "Tue", "Wed", "Thu"} <= set(labels)
    assert texts_of(root, "chart-direct-label") == ["Setter p50", "AI p50"]  # top to bottom
    assert [t for t in labels if re.fullmatch(r"[\d.]+", t)] == ["0", "1", "2", "3", "4"]
    paths = [p.get("d") for p in root.iter(f"{SVG}path")]
    # The setter line breaks at Tuesday: two segments; the AI line is one.
    assert [d.count("M") for d in paths] == [2, 1]
    assert len(list(root.iter(f"{SVG}circle"))) == 5
    groups = [g.get("class") for g in root.iter(f"{SVG}g")]
    assert groups == ["chart-series chart-tone-1", "chart-series chart-tone-2 chart-dashed"]


def test_a_lone_point_between_gaps_still_shows() -> None:
    root = parse(
        line_chart(
            chart_id="lone",
            title="t",
            x_labels=["a", "b", "c"],
            series=[Series("rate", [0.1, None, 0.3])],
            y_label="rate",
        )
    )
    assert [p.get("d").count("L") for p in root.iter(f"{SVG}path")] == [0]
    assert len(list(root.iter(f"{SVG}circle"))) == 2


def test_a_fixed_axis_top_and_day_ticks_among_unlabelled_buckets() -> None:
    """The ops rates chart: 6-hour buckets, a tick only at each midnight, rates against 100%."""
    x_labels = ["", "", "Fri 00:00", "", "", "", "Sat 00:00", "", "", "", "Sun 00:00", "", ""]
    root = parse(
        line_chart(
            chart_id="rates",
            title="Rates",
            x_labels=x_labels,
            series=[
                Series("auto-send", [0.2] * 13, tone=2),
                Series("revision applied", [None] * 12 + [0.5], tone=4),
            ],
            y_label="rate",
            y_max=1.0,
            format_y=lambda v: f"{v:.0%}",
            max_x_ticks=2,
        )
    )
    ticks = texts_of(root, "chart-tick")
    assert ticks[:5] == ["0%", "25%", "50%", "75%", "100%"]
    assert ticks[5:] == ["Fri 00:00", "Sun 00:00"]  # every other day: at most two ticks
    assert texts_of(root, "chart-direct-label") == ["revision applied", "auto-send"]


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

    heights = [float(r.get("height")) for r in root.iter(f"{SVG}rect")]
    assert heights[1] == 0
    assert heights[2] == 4 * heights[0] > 0  # 12 against 3 on the same scale
    assert texts_of(root, "chart-value") == ["3", "0", "12"]
    assert {"< 1m", "1 to 5m", "≥ 1d", "Replies", "Response time"} <= set(texts(root))
    assert [g.get("class") for g in root.iter(f"{SVG}g")] == ["chart-series chart-tone-2"]


def test_a_chart_without_data_says_so_at_its_usual_size() -> None:
    drawn = parse(histogram(chart_id="h", title="t", bars=[Bar("a", 1)], y_label="n"))
    charts = [
        line_chart(
            chart_id="l",
            title="Rates",
            x_labels=["a", "b"],
            series=[Series("x", [None, None])],
            y_label="rate",
            width=620,
            height=260,
        ),
        histogram(chart_id="h", title="Latency", bars=[Bar("a", 0), Bar("b", 0)], y_label="n"),
        histogram(chart_id="h", title="Latency", bars=[], y_label="n"),
    ]
    for svg in charts:
        root = parse(svg)
        assert texts(root) == [EMPTY_TEXT]
        assert EMPTY_TEXT == "No data in this period yet"
        assert root.get("viewBox") == drawn.get("viewBox") == "0 0 620 260"
        assert root.find(f"{SVG}title").text in {"Rates", "Latency"}
    custom = histogram(chart_id="c", title="t", bars=[], y_label="n", empty_text="Nothing <yet>")
    assert texts(parse(custom)) == ["Nothing <yet>"]


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    svg = line_chart(
        chart_id="esc",
        title=hostile,
        x_labels=[hostile],
        series=[Series(hostile, [1.0]), Series("revision <b>", [0.5])],
        y_label=hostile,
    ) + histogram(chart_id="esc2", title=hostile, bars=[Bar(hostile, 1)], y_label=hostile)

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "revision &lt;b&gt;" in svg
    first = svg[: svg.index("</svg>") + len("</svg>")]
    root = parse(first)
    assert root.find(f"{SVG}title").text == hostile  # escaped in the markup, intact as text
    assert "revision <b>" in texts_of(root, "chart-direct-label")


def test_bad_chart_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="chart_id"):
        line_chart(chart_id='x" onload="1', title="t", x_labels=[], series=[], y_label="y")
    with pytest.raises(ValueError, match="tone"):
        Series("s", [1.0], tone=9)
    with pytest.raises(ValueError, match="tone"):
        histogram(chart_id="h", title="t", bars=[], y_label="y", tone=0)
    with pytest.raises(ValueError, match="one value per x label"):
        line_chart(chart_id="n", title="t", x_labels=["a"], series=[Series("s", [])], y_label="y")
