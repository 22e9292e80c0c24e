"""The day calendar on /when/: which days it shows, where each day's cell goes, its shades and
legend, and (through the section's view) that days are the user's local days."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.calendar_chart import MAX_COLUMN, MONTH_BAND, ROW_HEIGHT, calendar, calendar_span
from scrobbler.models import Play, User
from scrobbler.rollups import rollups_mark, rollups_refresh
from tests.factories import TrackFactory


def test_a_range_of_four_weeks_to_a_year_is_shown_as_it_is() -> None:
    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    assert calendar_span(start, end) == (start, end)
    assert calendar_span(dt.date(2026, 11, 8), dt.date(2026, 12, 5)) == (
        dt.date(2026, 11, 8),
        dt.date(2026, 12, 5),
    )


@pytest.mark.parametrize("days", [1, 7, 27, 372, 3650])
def test_a_shorter_or_longer_range_shows_the_year_to_its_last_day(days: int) -> None:
    end = dt.date(2026, 12, 5)
    assert calendar_span(end - dt.timedelta(days=days - 1), end) == (dt.date(2025, 12, 6), end)


def test_a_leap_year_has_a_cell_for_february_29_in_its_own_week_and_weekday() -> None:
    chart = calendar(
        {dt.date(2024, 2, 29): 42}, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), title="t"
    )

    assert len(chart.cells) == 366
    leap = chart.cells[59]
    assert leap.tooltip == "Feb 29, 2024: 42 plays"
    assert leap.level == 4
    # 2024-01-01 is a Monday: Feb 29 (a Thursday) is in the ninth week.
    assert leap.y == MONTH_BAND + 3 * ROW_HEIGHT + 1
    week = 100 / 53
    assert leap.x == pytest.approx(8 * week + 0.2, abs=0.01)
    assert chart.table_rows[59].label == "Feb 29, 2024"
    assert chart.table_rows[59].value == "42"
    assert [label.text for label in chart.month_labels][:3] == ["2024", "Feb", "Mar"]


def test_cells_follow_weeks_as_columns_and_weekdays_as_rows_without_overlapping() -> None:
    start = dt.date(2025, 12, 6)  # a Saturday
    chart = calendar(
        {start + dt.timedelta(days=i): i % 9 for i in range(365)},
        start=start,
        end=dt.date(2026, 12, 5),
        title="t",
    )

    assert chart.cells[0].y == MONTH_BAND + 5 * ROW_HEIGHT + 1  # Saturday's row
    assert chart.cells[2].x > chart.cells[1].x  # Monday starts the next column
    for cell in chart.cells:
        assert cell.x >= 0
        assert cell.x + cell.width <= 100
    columns = sorted({cell.x for cell in chart.cells})
    widths = {cell.width for cell in chart.cells}
    assert len(columns) == 53
    assert all(b - a >= max(widths) for a, b in itertools.pairwise(columns))
    assert chart.cells[1].tooltip == "Dec 7, 2025: 1 play"
    assert chart.cells[0].tooltip == "Dec 6, 2025: 0 plays"
    assert chart.cells[0].empty
    assert "Busiest: Dec 14, 2025, 8 plays." in chart.summary
    # On a phone every other month is named, so that the names do not touch.
    assert 5 <= sum(label.narrow for label in chart.month_labels) < len(chart.month_labels)


def test_no_plays_is_an_empty_calendar_without_a_legend() -> None:
    chart = calendar({}, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 1), title="t")

    assert chart.empty
    assert chart.summary == "No data"
    assert chart.legend == ()
    assert chart.month_labels == ()
    assert len(chart.table_rows) == 60


@pytest.mark.django_db
def test_a_play_just_after_local_midnight_counts_on_the_local_day(
    client: Client, alice: User
) -> None:
    alice.time_zone = "Europe/Berlin"
    alice.save(update_fields=["time_zone"])
    ended = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)  # 00:30 on March 2 in Berlin
    Play.objects.create(
        user=alice,
        track=TrackFactory.create(),
        started_at=ended - dt.timedelta(minutes=3),
        ended_at=ended,
        ms_played=180_000,
        source=Play.Source.IMPORT,
        counted=True,
    )
    rollups_mark(user_id=alice.pk, since=ended, until=ended)
    rollups_refresh(alice.pk)
    client.force_login(alice)

    url = reverse("dashboard-section", args=["calendar"])
    page = client.get(f"{url}?range=custom&from=2026-02-01&to=2026-03-31").text

    assert "<title>Mar 2, 2026: 1 play</title>" in page
    assert "<title>Mar 1, 2026: 0 plays</title>" in page
    assert '<th scope="row">Mar 2, 2026</th><td>1</td>' in page


def test_a_short_range_caps_its_width_so_that_days_stay_near_square() -> None:
    # Four weeks starting on a Monday: four columns of at most MAX_COLUMN pixels each.
    chart = calendar({}, start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 29), title="t")
    assert chart.max_width == 4 * MAX_COLUMN
    assert MAX_COLUMN <= 1.5 * ROW_HEIGHT
