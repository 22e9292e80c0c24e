"""The one number and duration format (ops/formatting.py) and its template filters."""

from __future__ import annotations

import pytest
from django.template import engines

from ops.formatting import count_format, counted_format, duration_format

MINUTE = 60_000
HOUR = 60 * MINUTE


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (7, "7"), (1_500, "1,500"), (36_292, "36,292"), (1_234_567, "1,234,567"),
     (12.6, "13"), (None, "—")],
)  # fmt: skip
def test_counts_have_thousands_separators(n: int | float | None, text: str) -> None:
    assert count_format(n) == text


@pytest.mark.parametrize(
    ("n", "unit", "text"),
    [(1, "play", "1 play"), (2, "play", "2 plays"), (0, "play", "0 plays"),
     (36_292, "play", "36,292 plays"), (1, "track", "1 track"), (3, "track", "3 tracks"),
     (1, "match,matches", "1 match"), (2, "match,matches", "2 matches"),
     (1, "new listen", "1 new listen"), (None, "play", "— plays")],
)  # fmt: skip
def test_counted_units_agree_with_their_number(n: int | None, unit: str, text: str) -> None:
    assert counted_format(n, unit) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [(None, "—"), (0, "0 min"), (59_999, "< 1 min"), (MINUTE, "1 min"), (45 * MINUTE, "45 min"),
     (9 * HOUR + 32 * MINUTE + 59_000, "9 h 32 min"), (HOUR, "1 h 0 min"),
     (3 * 24 * HOUR + 4 * HOUR + 5 * MINUTE, "3 d 4 h"), (1_500 * 24 * HOUR, "1,500 d 0 h")],
)  # fmt: skip
def test_durations(ms: int | None, text: str) -> None:
    assert duration_format(ms) == text


def test_the_template_filters_use_the_same_format() -> None:
    template = engines["django"].from_string(
        '{% load numbers %}{{ n|count }}|{{ one|counted:"play" }}|{{ n|counted:"play" }}|{{ ms|duration }}'
    )
    text = template.render({"n": 36_292, "one": 1, "ms": 9 * HOUR + 32 * MINUTE})
    assert text == "36,292|1 play|36,292 plays|9 h 32 min"
