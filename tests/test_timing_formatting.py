"""The durations the timing page shows, and the axis units its charts use."""

from __future__ import annotations

import pytest

from timing.formatting import duration_unit, format_duration_ms


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
