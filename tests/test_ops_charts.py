"""The small SVG charts of /ops/: valid SVG, escaped labels, no script or inline style (the
CSP forbids both), gaps where data is missing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from workspaces.ops_charts import _nice_max, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert "<script" not in svg
    assert "style=" not in svg
    return root


def test_line_chart_draws_one_line_per_series_with_direct_labels():
    svg = line_chart(
        [("auto-send", [(0, 0.2), (1, 0.4), (2, 0.5)]), ("revision <b>", [(0, 1.0), (2, 0.5)])],
        title="Rates & more",
        x_ticks=[(0, "Mon"), (2, "Wed")],
        y_max=1.0,
        y_format=lambda v: f"{v:.0%}",
    )
    root = _parse(svg)
    assert root.find(f"{SVG}title").text == "Rates & more"
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert len(lines[0].get("points").split()) == 3
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert "auto-send" in labels
    assert "revision <b>" in labels  # escaped in the markup, intact as text
    assert "revision &lt;b&gt;" in svg
    assert {"0%", "25%", "50%", "75%", "100%", "Mon", "Wed"} <= set(labels)


def test_a_missing_value_breaks_the_line():
    root = _parse(
        line_chart([("rate", [(0, 0.1), (1, 0.2), (2, None), (3, 0.3), (4, 0.4)])], title="t")
    )
    assert [len(p.get("points").split()) for p in root.findall(f"{SVG}polyline")] == [2, 2]
    lone = _parse(line_chart([("rate", [(0, 0.1), (1, None), (2, 0.3)])], title="t"))
    assert len(lone.findall(f"{SVG}circle")) == 2


def test_bar_chart_labels_each_bar_with_its_value():
    root = _parse(bar_chart([("0-1 s", 3), ("1-2 s", 0), ("≥2 s", 12)], title="Latency"))
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 3
    heights = [float(r.get("height")) for r in rects]
    assert heights[1] == 0
    assert heights[2] == 4 * heights[0]  # 12 vs 3 on the same scale
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert {"3", "0", "12", "0-1 s", "≥2 s"} <= set(texts)


def test_empty_data_says_so():
    for svg in (line_chart([("x", [(0, None)])], title="t"), bar_chart([("a", 0)], title="t")):
        root = _parse(svg)
        assert [t.text for t in root.findall(f"{SVG}text")] == ["No data in this period yet"]


def test_axis_tops_are_round_numbers():
    assert [_nice_max(v) for v in (0, 0.3, 7, 12, 240, 2600)] == [1.0, 0.5, 10, 20, 250, 5000]
