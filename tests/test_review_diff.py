"""The word-level diff kept with every edit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drafts.review import _TOKEN, text_diff


def _rebuild(original: str, diff: list[dict]) -> str:
    tokens = _TOKEN.findall(original)
    out = []
    for op in diff:
        out.append("".join(tokens[op["a"][0] : op["a"][1]]) if op["op"] == "equal" else op["after"])
    return "".join(out)


def test_diff_names_the_changed_words():
    diff = text_diff("The plan costs $40 a month.", "The pro plan costs $45 a month.")
    assert [(op["before"], op["after"]) for op in diff if op["op"] != "equal"] == [
        ("", " pro"),
        ("$40", "$45"),
    ]


@given(st.text(max_size=80), st.text(max_size=80))
def test_original_plus_diff_rebuilds_the_final(original, final):
    assert _rebuild(original, text_diff(original, final)) == final
