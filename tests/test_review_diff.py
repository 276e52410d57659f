"""The word-level diff kept with every edit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drafts.review import text_diff


def _versions(diff: list[dict]) -> tuple[str, str]:
    before = "".join(op["text"] if op["op"] == "equal" else op["before"] for op in diff)
    after = "".join(op["text"] if op["op"] == "equal" else op["after"] for op in diff)
    return before, after


def test_diff_names_the_changed_words():
    diff = text_diff("The plan costs $40 a month.", "The pro plan costs $45 a month.")
    assert [(op["before"], op["after"]) for op in diff if op["op"] != "equal"] == [
        ("", " pro"),
        ("$40", "$45"),
    ]
    assert diff[0] == {"op": "equal", "a": [0, 1], "b": [0, 1], "text": "The"}


@given(st.text(max_size=80), st.text(max_size=80))
def test_the_diff_rebuilds_both_versions(original, final):
    assert _versions(text_diff(original, final)) == (original, final)
