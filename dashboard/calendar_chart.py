"""The day calendar on /when/: a GitHub-style heatmap of local days, weeks (Monday first) as
columns and weekdays as rows, shaded by plays like dashboard.charts' heatmap, with month labels
above and a legend. Pure Python, no Django; units as in dashboard.charts (x in per cent of the
width, y in pixels, row labels in the gutter at negative x).

Which days it shows (`calendar_span`): the chosen range when it is four weeks to a year long; for a
shorter range (a week says little as a calendar) or a longer one (a cell per day of ten years would
be too small to see), the 365 days ending on the range's last day."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from dashboard.charts import (
    BASELINE_SHIFT,
    CHAR_WIDTH,
    FONT_SIZE,
    LABEL_GAP,
    MONTHS,
    NARROW_PLOT,
    NO_DATA,
    WIDTH,
    AxisLabel,
    Cell,
    LegendEntry,
    TableRow,
    cell,
    day_label,
    format_number,
    legend,
)
from ops.formatting import counted_format

MIN_DAYS = 28
MAX_DAYS = 371  # 53 weeks: a year, whichever weekday it starts on
SHOWN_DAYS = 365
ROW_HEIGHT = 15.0
# A week's column at most this wide (pixels): cells stay near square on a wide screen, rather than
# bars as wide as a short range allows.
MAX_COLUMN = 18.0
MONTH_BAND = 18.0  # above the grid, for month labels
ROW_LABELS = {0: "Mon", 2: "Wed", 4: "Fri"}
EMPTY_HEIGHT = 60.0


@dataclass(frozen=True, slots=True)
class Calendar:
    """What `{% calendar %}` draws; `table_rows` has one row per day of the span."""

    title: str
    value_label: str
    label_header: str
    start: date
    end: date
    width: float
    height: float
    max_width: float  # pixels
    cells: tuple[Cell, ...]
    row_labels: tuple[AxisLabel, ...]
    month_labels: tuple[AxisLabel, ...]
    legend: tuple[LegendEntry, ...]
    summary: str
    table_rows: tuple[TableRow, ...]
    empty: bool

    @property
    def value_header(self) -> str:
        return self.value_label[:1].upper() + self.value_label[1:]


def calendar_span(start: date, end: date) -> tuple[date, date]:
    """The days the calendar shows for a range from `start` to `end` (both included)."""
    days = (end - start).days + 1
    if MIN_DAYS <= days <= MAX_DAYS:
        return start, end
    return end - timedelta(days=SHOWN_DAYS - 1), end


def calendar(
    plays: Mapping[date, int],
    *,
    start: date,
    end: date,
    title: str,
) -> Calendar:
    """A cell for every day from `start` to `end`, shaded by `plays[day]` (days missing from it
    have none)."""
    first_monday = start - timedelta(days=start.weekday())
    weeks = (end - first_monday).days // 7 + 1
    column = WIDTH / weeks
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    values = {day: plays.get(day, 0) for day in days}
    maximum = max(values.values(), default=0)

    cells = tuple(
        cell(
            x=((day - first_monday).days // 7) * column,
            y=MONTH_BAND + day.weekday() * ROW_HEIGHT,
            width=column,
            height=ROW_HEIGHT,
            value=values[day],
            maximum=maximum,
            row_label=day_label(day, year=True),
            column_label="",
            tooltip=f"{day_label(day, year=True)}: {counted_format(values[day], 'play')}",
        )
        for day in days
    )
    empty = maximum == 0
    if empty:
        summary = NO_DATA
    else:
        busiest = max(days, key=lambda day: (values[day], -day.toordinal()))
        played = sum(1 for value in values.values() if value)
        summary = (
            f"From {day_label(start, year=True)} to {day_label(end, year=True)}. "
            f"{played} of {len(days)} days with plays. "
            f"Busiest: {day_label(busiest, year=True)}, {counted_format(values[busiest], 'play')}."
        )
    return Calendar(
        title=title,
        value_label="plays",
        label_header="Day",
        start=start,
        end=end,
        width=WIDTH,
        height=EMPTY_HEIGHT if empty else MONTH_BAND + 7 * ROW_HEIGHT,
        max_width=weeks * MAX_COLUMN,
        cells=cells,
        row_labels=tuple(
            AxisLabel(
                -LABEL_GAP, round(MONTH_BAND + (row + 0.5) * ROW_HEIGHT + BASELINE_SHIFT, 2), text
            )
            for row, text in ROW_LABELS.items()
        ),
        month_labels=() if empty else _month_labels(first_monday, start, end, column, weeks),
        legend=() if empty else legend(maximum),
        summary=summary,
        table_rows=tuple(
            TableRow(day_label(day, year=True), format_number(values[day])) for day in days
        ),
        empty=empty,
    )


def _month_labels(
    first_monday: date, start: date, end: date, column: float, weeks: int
) -> tuple[AxisLabel, ...]:
    """A month's name over the week holding its first day (the first month's over the first
    week), left-aligned; on a narrow chart only every few, so that none touch."""
    firsts = [start]
    month = date(start.year, start.month, 1)
    while True:
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if month > end:
            break
        firsts.append(month)
    # A month's first day close after the range's start would crowd the first label: skip that one.
    if len(firsts) > 1 and (firsts[1] - first_monday).days // 7 < 3:
        firsts.pop(0)
    month_pixels = NARROW_PLOT / weeks * 4.35
    every = max(1, math.ceil((4 * CHAR_WIDTH + LABEL_GAP) / month_pixels))
    return tuple(
        AxisLabel(
            round(((day - first_monday).days // 7) * column, 2),
            FONT_SIZE,
            MONTHS[day.month - 1] if day.month != 1 else str(day.year),
            narrow=n % every == 0,
        )
        for n, day in enumerate(firsts)
    )
