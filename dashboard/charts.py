"""Charts drawn on the server as SVG: bars, lines and heatmaps, their geometry worked out here so
that templates only place elements (`dashboard/templatetags/charts.py` renders them).

Pure Python, no Django. The SVG has no viewBox, so nothing scales: text keeps its CSS size (12 px)
on a phone and on a wide screen. Horizontal positions are percentages of the plot's width (the
templates write `x="12.5%"`), vertical ones and everything in the left gutter (tick and row labels,
at negative x) are pixels; the gutter is CSS padding. As the width is only known in the browser,
category labels come in two sets, all of them for a wide chart and every few of them (`narrow`)
for a phone, picked by a CSS container query. Heatmap cells are shaded in LEVELS steps, each
named by the legend with the values it stands for. Coordinates are rounded to two decimals to
keep the markup small. Values must be finite and not negative. Every chart also carries a
one-line `summary` for screen readers and `table_rows` for the table shown instead on request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from ops.formatting import count_format

ValueFormat = Callable[[float], str]

WIDTH = 100.0  # per cent: horizontal positions are shares of the plot's width
PLOT_HEIGHT = 180.0  # pixels, as is everything vertical
CELL_HEIGHT = 24.0
PAD = 8.0  # above a heatmap's grid
TOP = 10.0  # above the plot: room for the top tick label, centred on the top line
LABEL_GAP = 6.0  # between an axis label and what it labels
X_LABEL_BAND = 24.0  # below the plot, for category labels
FONT_SIZE = 12.0  # pixels; static/css/encore.css sets the same, so the estimates below hold
CHAR_WIDTH = 7.0  # a generous average glyph width at FONT_SIZE, to keep labels from colliding
BASELINE_SHIFT = round(
    FONT_SIZE * 0.35, 2
)  # from a line's y to the baseline that centres text on it
# The narrowest plot in each layout, in pixels (encore.css: the chart's container query switches
# at 26rem, less the 3.25rem gutter and a little on the right), to thin category labels for.
NARROW_PLOT = 220.0
WIDE_PLOT = 340.0
MAX_X_LABELS = 12
BAR_GAP = 0.2  # of a bar's slot, left empty between bars that are wide enough to have one
MIN_SLOT_FOR_GAP = 3.0  # pixels, in the narrow layout
CELL_GAP = 0.4  # per cent of the width, between heatmap cells
LEVELS = 4  # shades of a heatmap's non-empty cells
NO_DATA = "No data"
EMPTY_HEIGHT = 60.0  # a chart with nothing to draw is a short box saying so


def day_label(day: date, *, year: bool = False) -> str:
    """ "Nov 11", or with `year` "Nov 11, 2026" (English, whatever the server's locale)."""
    text = f"{MONTHS[day.month - 1]} {day.day}"
    return f"{text}, {day.year}" if year else text


def month_label(month: date) -> str:
    """ "Nov 2026"."""
    return f"{MONTHS[month.month - 1]} {month.year}"


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_number(value: float) -> str:
    """Whole numbers with thousands separators ("1,234"), others to at most two decimals ("2.5")."""
    if float(value).is_integer():
        return count_format(value)
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class Plot:
    """The rectangle data is drawn in: `left` and `right` in per cent, `top` and `bottom` in
    pixels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return _r(self.right - self.left)

    @property
    def height(self) -> float:
        return _r(self.bottom - self.top)


@dataclass(frozen=True, slots=True)
class Tick:
    """A value on the value axis: a grid line at `y` and its label, right-aligned at `text_x`
    (pixels, left of the plot) with its baseline at `text_y`."""

    value: float
    y: float
    text_x: float
    text_y: float
    label: str


@dataclass(frozen=True, slots=True)
class AxisLabel:
    """A label whose text is anchored at (`x`, `y`): centred for categories (`x` in per cent),
    right-aligned for rows (`x` in pixels). Labels not `narrow` are left out on narrow charts."""

    x: float
    y: float
    text: str
    narrow: bool = True


@dataclass(frozen=True, slots=True)
class TableRow:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    tooltip: str


@dataclass(frozen=True, slots=True)
class BarChart:
    """What `{% bar_chart %}` draws. An `empty` chart has no bars, ticks or labels."""

    title: str
    value_label: str
    label_header: str
    width: float
    height: float
    plot: Plot
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_labels: tuple[AxisLabel, ...]
    summary: str
    table_rows: tuple[TableRow, ...]
    empty: bool

    @property
    def value_header(self) -> str:
        return _capitalised(self.value_label)


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    r: float
    label: str
    value: float
    tooltip: str


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of consecutive points with values, drawn as one polyline."""

    points: tuple[tuple[float, float], ...]

    @property
    def svg_points(self) -> str:
        """The `points` attribute of a <polyline>."""
        return " ".join(f"{x},{y}" for x, y in self.points)


@dataclass(frozen=True, slots=True)
class LineChart:
    """What `{% line_chart %}` draws. An `empty` chart has no line, dots, ticks or labels."""

    title: str
    value_label: str
    label_header: str
    width: float
    height: float
    plot: Plot
    invert: bool
    segments: tuple[Segment, ...]
    dots: tuple[Dot, ...]
    y_ticks: tuple[Tick, ...]
    x_labels: tuple[AxisLabel, ...]
    summary: str
    table_rows: tuple[TableRow, ...]
    empty: bool

    @property
    def value_header(self) -> str:
        return _capitalised(self.value_label)


@dataclass(frozen=True, slots=True)
class Cell:
    """One heatmap cell. `intensity` is value / the largest value (0..1); `level` the shade that
    shows it (0 for a value of 0, else 1..LEVELS). A cell whose value is 0 is `empty`."""

    x: float
    y: float
    width: float
    height: float
    row_label: str
    column_label: str
    value: float
    intensity: float
    level: int
    tooltip: str

    @property
    def empty(self) -> bool:
        return self.value == 0


@dataclass(frozen=True, slots=True)
class HeatmapRow:
    """A row of the table fallback: the row's label and each column's formatted value."""

    label: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """A shade of a heatmap and the values it stands for ("0", "1-12", "13-25", ...)."""

    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Heatmap:
    """What `{% heatmap %}` draws: `column_headers` are all the column labels, for the table;
    `column_labels` only those drawn. An `empty` heatmap draws nothing."""

    title: str
    value_label: str
    label_header: str
    width: float
    height: float
    cells: tuple[Cell, ...]
    row_labels: tuple[AxisLabel, ...]
    column_labels: tuple[AxisLabel, ...]
    column_headers: tuple[str, ...]
    column_title: str
    legend: tuple[LegendEntry, ...]
    summary: str
    table_rows: tuple[HeatmapRow, ...]
    empty: bool

    @property
    def value_header(self) -> str:
        return _capitalised(self.value_label)


SMALLEST_SCALE = 1e-6
# A bar or line chart's plot: the whole width (tick labels sit in the gutter left of it).
VALUE_PLOT = Plot(0.0, TOP, WIDTH, TOP + PLOT_HEIGHT)


def nice_ticks(maximum: float, *, start: float = 0.0, whole: bool = True) -> tuple[float, ...]:
    """Three to five round values from `start` (0, or 1 for ranks) to the first at or above
    `maximum`, a step of 1, 2, 2.5 or 5 times a power of ten apart (2.5 only from 25 up; with
    `whole`, for counts, at least 1). Of the steps that fit, the one whose top value leaves
    least room above `maximum` wins, then the finer."""
    # Steps from a tiny maximum underflow to zero and never reach it (a chart that hung).
    maximum = max(maximum, SMALLEST_SCALE) if maximum > 0 else maximum
    options = (
        _ticks_by(step, maximum=maximum, start=start) for step in _steps(maximum, whole=whole)
    )
    return min((ticks for ticks in options if len(ticks) <= 5), key=lambda t: (t[-1], -len(t)))


def bar_chart(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    value_label: str,
    value_format: ValueFormat = format_number,
    label_header: str = "",
    axis_labels: Sequence[str] | None = None,
) -> BarChart:
    """Vertical bars, one per (label, value), in order. A chart whose values are all 0 (or that
    has none) is `empty` and says so instead of drawing. Labels along the bottom are
    `axis_labels` (shorter ones, "Nov 11" for "Nov 11, 2026") or the points' own, thinned to
    at most MAX_X_LABELS, fewer when long, so they never overlap."""
    values = [_checked(value) for _, value in points]
    labels = [label for label, _ in points]
    table_rows = tuple(
        TableRow(label, value_format(value)) for label, value in zip(labels, values, strict=True)
    )
    empty = not any(values)
    ticks = nice_ticks(max(values, default=0.0), whole=_whole(values))
    plot = VALUE_PLOT
    scale = _Scale(plot, low=ticks[0], high=ticks[-1], invert=False)

    bars: list[Bar] = []
    if not empty:
        slot = plot.width / len(values)
        gap = slot * BAR_GAP if NARROW_PLOT / len(values) >= MIN_SLOT_FOR_GAP else 0.0
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            left = _r(plot.left + i * slot + gap / 2)
            right = _r(plot.left + (i + 1) * slot - gap / 2)
            height = _r(scale.fraction(value) * plot.height)
            bars.append(
                Bar(
                    x=left,
                    y=_r(plot.bottom - height),
                    width=_r(right - left),
                    height=height,
                    label=label,
                    value=value,
                    tooltip=f"{label}: {_amount(value, value_format, value_label)}",
                )
            )

    if empty:
        summary = NO_DATA
    else:
        top = values.index(max(values))
        summary = _sentences(
            _span(labels),
            f"Highest: {labels[top]}, {_amount(values[top], value_format, value_label)}",
        )
    return BarChart(
        title=title,
        value_label=value_label,
        label_header=label_header,
        width=WIDTH,
        height=EMPTY_HEIGHT if empty else _r(plot.bottom + X_LABEL_BAND),
        plot=plot,
        bars=tuple(bars),
        y_ticks=() if empty else _ticks(ticks, scale, value_format),
        x_labels=() if empty else _category_labels(axis_labels or labels, plot),
        summary=summary,
        table_rows=table_rows,
        empty=empty,
    )


def line_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    value_label: str,
    invert: bool = False,
    value_format: ValueFormat = format_number,
    label_header: str = "",
    axis_labels: Sequence[str] | None = None,
) -> LineChart:
    """A line through the points with values, broken where a value is None, with a dot on each.
    With `invert` small values are drawn at the top and the axis starts at 1 (for ranks: rank 1
    at the top). A chart without any value is `empty` and says so instead of drawing. The
    bottom labels are `axis_labels` or the points' own, thinned as a bar chart's."""
    labels = [label for label, _ in points]
    values = [None if value is None else _checked(value) for _, value in points]
    present = [value for value in values if value is not None]
    empty = not present
    table_rows = tuple(
        TableRow(label, NO_DATA if value is None else value_format(value))
        for label, value in zip(labels, values, strict=True)
    )
    start = 1.0 if invert and present and min(present) >= 1 else 0.0
    ticks = nice_ticks(max(present, default=0.0), start=start, whole=_whole(present))
    plot = VALUE_PLOT
    scale = _Scale(plot, low=ticks[0], high=ticks[-1], invert=invert)

    segments: list[Segment] = []
    dots: list[Dot] = []
    if not empty:
        slot = plot.width / len(values)
        radius = _r(min(3.5, max(1.5, NARROW_PLOT / len(values) * 0.3)))
        run: list[tuple[float, float]] = []
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            if value is None:
                if run:
                    segments.append(Segment(tuple(run)))
                run = []
                continue
            x, y = _r(plot.left + (i + 0.5) * slot), scale.y(value)
            run.append((x, y))
            tooltip = f"{label}: {_amount(value, value_format, value_label)}"
            dots.append(Dot(x=x, y=y, r=radius, label=label, value=value, tooltip=tooltip))
        if run:
            segments.append(Segment(tuple(run)))

    if empty:
        summary = NO_DATA
    else:
        best = min(present) if invert else max(present)
        top = dots[[dot.value for dot in dots].index(best)]
        latest = dots[-1]
        summary = _sentences(
            _span(labels),
            f"Highest: {top.label}, {_amount(top.value, value_format, value_label)}",
            f"Latest: {latest.label}, {_amount(latest.value, value_format, value_label)}",
        )
    return LineChart(
        title=title,
        value_label=value_label,
        label_header=label_header,
        width=WIDTH,
        height=EMPTY_HEIGHT if empty else _r(plot.bottom + X_LABEL_BAND),
        plot=plot,
        invert=invert,
        segments=tuple(segments),
        dots=tuple(dots),
        y_ticks=() if empty else _ticks(ticks, scale, value_format),
        x_labels=() if empty else _category_labels(axis_labels or labels, plot),
        summary=summary,
        table_rows=table_rows,
        empty=empty,
    )


def heatmap(
    grid: Sequence[Sequence[float]],
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
    value_label: str,
    value_format: ValueFormat = format_number,
    label_header: str = "",
    column_title: str = "",
) -> Heatmap:
    """A grid of cells (e.g. 7 weekdays by 24 hours), `grid[row][column]`, shaded by value relative
    to the largest, with a legend of the shades. A grid of zeros is `empty` and says so instead
    of drawing. Column labels are thinned like a bar chart's; `column_title` says what they are."""
    if len(grid) != len(row_labels) or any(len(row) != len(column_labels) for row in grid):
        raise ValueError("a heatmap needs one row per row label and one value per column label")
    values = [[_checked(value) for value in row] for row in grid]
    maximum = max((max(row, default=0.0) for row in values), default=0.0)
    empty = maximum == 0

    cell_width = WIDTH / max(1, len(column_labels))
    grid_box = Plot(0.0, PAD, WIDTH, _r(PAD + CELL_HEIGHT * len(row_labels)))

    cells: list[Cell] = []
    for r, (row_label, row) in enumerate(zip(row_labels, values, strict=True)):
        for c, (column_label, value) in enumerate(zip(column_labels, row, strict=True)):
            cells.append(
                cell(
                    x=c * cell_width,
                    y=PAD + r * CELL_HEIGHT,
                    width=cell_width,
                    height=CELL_HEIGHT,
                    value=value,
                    maximum=maximum,
                    row_label=row_label,
                    column_label=column_label,
                    tooltip=f"{row_label} {column_label}: {_amount(value, value_format, value_label)}",
                )
            )

    if empty:
        summary = NO_DATA
    else:
        top = max(cells, key=lambda cell: cell.value)
        amount = _amount(top.value, value_format, value_label)
        summary = _sentences(f"Highest: {top.row_label} {top.column_label}, {amount}")
    return Heatmap(
        title=title,
        value_label=value_label,
        label_header=label_header,
        width=WIDTH,
        height=EMPTY_HEIGHT if empty else _r(grid_box.bottom + X_LABEL_BAND),
        cells=tuple(cells),
        row_labels=tuple(
            AxisLabel(-LABEL_GAP, _r(PAD + (r + 0.5) * CELL_HEIGHT + BASELINE_SHIFT), label)
            for r, label in enumerate(row_labels)
        ),
        column_labels=() if empty else _category_labels(list(column_labels), grid_box),
        column_headers=tuple(column_labels),
        column_title=column_title,
        legend=() if empty else legend(maximum, value_format),
        summary=summary,
        table_rows=tuple(
            HeatmapRow(label, tuple(value_format(value) for value in row))
            for label, row in zip(row_labels, values, strict=True)
        ),
        empty=empty,
    )


def level(value: float, maximum: float) -> int:
    """The shade of `value`: 0 for none, else 1..LEVELS by its share of `maximum`, each level
    holding an equal slice of (0, maximum]."""
    if value <= 0 or maximum <= 0:
        return 0
    return max(1, min(LEVELS, math.ceil(LEVELS * value / maximum)))


def legend(maximum: float, value_format: ValueFormat = format_number) -> tuple[LegendEntry, ...]:
    """What each shade stands for when the largest value is `maximum`: "0", then each level's
    range of whole values ("1-12", with an en dash), levels no whole value falls in left out. Fractional values
    get each level's upper bound ("up to 2.5")."""
    entries = [LegendEntry(0, value_format(0))]
    whole = float(maximum).is_integer()
    for shade in range(1, LEVELS + 1):
        high = maximum * shade / LEVELS
        if not whole:
            entries.append(LegendEntry(shade, f"up to {value_format(_tidy(high))}"))
            continue
        # level() puts v at `shade` when (shade - 1) * maximum / LEVELS < v <= shade * maximum / LEVELS.
        low, top = math.floor(maximum * (shade - 1) / LEVELS) + 1, math.floor(high)
        if low > top:
            continue
        text = (
            value_format(low)
            if low == top
            else f"{value_format(low)}\N{EN DASH}{value_format(top)}"
        )
        entries.append(LegendEntry(shade, text))
    return tuple(entries)


def cell(
    *,
    x: float,
    y: float,
    width: float,
    height: float,
    value: float,
    maximum: float,
    row_label: str,
    column_label: str,
    tooltip: str,
) -> Cell:
    """A heatmap cell filling the slot at (`x` per cent, `y` pixels) less a gap all round."""
    return Cell(
        x=_r(x + CELL_GAP / 2),
        y=_r(y + 1),
        width=_r(width - CELL_GAP),
        height=_r(height - 2),
        row_label=row_label,
        column_label=column_label,
        value=value,
        intensity=round(value / maximum, 3) if maximum else 0.0,
        level=level(value, maximum),
        tooltip=tooltip,
    )


@dataclass(frozen=True, slots=True)
class _Scale:
    """Maps values between `low` and `high` onto the plot's height, upwards unless inverted."""

    plot: Plot
    low: float
    high: float
    invert: bool

    def fraction(self, value: float) -> float:
        return min(1.0, max(0.0, (value - self.low) / (self.high - self.low)))

    def y(self, value: float) -> float:
        offset = self.fraction(value) * self.plot.height
        return _r(self.plot.top + offset if self.invert else self.plot.bottom - offset)


def _ticks(ticks: Sequence[float], scale: _Scale, value_format: ValueFormat) -> tuple[Tick, ...]:
    return tuple(
        Tick(
            value=tick,
            y=scale.y(tick),
            text_x=-LABEL_GAP,
            text_y=_r(scale.y(tick) + BASELINE_SHIFT),
            label=value_format(tick),
        )
        for tick in ticks
    )


def _category_labels(labels: Sequence[str], plot: Plot) -> tuple[AxisLabel, ...]:
    """Labels centred under their slots, every `step`-th one, `step` chosen so that labels as
    wide as the widest never touch on a WIDE_PLOT; those also shown on a NARROW_PLOT are every
    few of these, so the narrow set is a subset of the wide one."""
    if not labels:
        return ()
    slot = plot.width / len(labels)
    step = _label_step(labels, WIDE_PLOT)
    narrow_every = math.ceil(_label_step(labels, NARROW_PLOT) / step)
    y = _r(plot.bottom + LABEL_GAP + FONT_SIZE)
    return tuple(
        AxisLabel(_r(plot.left + (i + 0.5) * slot), y, labels[i], narrow=n % narrow_every == 0)
        for n, i in enumerate(range(0, len(labels), step))
    )


def _label_step(labels: Sequence[str], plot_pixels: float) -> int:
    fits = max(1, min(MAX_X_LABELS, int(plot_pixels // (_text_width(labels) + 2 * LABEL_GAP))))
    return math.ceil(len(labels) / fits)


def _steps(maximum: float, *, whole: bool) -> list[float]:
    if maximum <= 0:
        return [1.0]
    exponent = math.floor(math.log10(maximum))
    steps = (
        multiplier * 10.0**power
        for power in range(exponent - 1, exponent + 2)
        for multiplier in (1, 2, 2.5, 5)
        if not (multiplier == 2.5 and power < 1)
    )
    return [step for step in steps if step >= 1 or not whole]


def _ticks_by(step: float, *, maximum: float, start: float) -> tuple[float, ...]:
    ticks, multiple, ceiling = [start], 0, _tidy(maximum)
    while ticks[-1] < ceiling or len(ticks) < 3:
        multiple += 1
        if (tick := _tidy(multiple * step)) > start:
            ticks.append(tick)
    return tuple(ticks)


def _checked(value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"chart values must be finite and not negative, not {value!r}")
    return value


def _whole(values: Sequence[float]) -> bool:
    return all(value.is_integer() for value in values)


def _amount(value: float, value_format: ValueFormat, value_label: str) -> str:
    if value == 1 and value_label.endswith("s"):  # labels are plural nouns: "1 play", not "1 plays"
        value_label = value_label[:-1]
    return f"{value_format(value)} {value_label}".strip()


def _span(labels: Sequence[str]) -> str:
    return f"From {labels[0]} to {labels[-1]}" if len(labels) > 1 else ""


def _sentences(*parts: str) -> str:
    return " ".join(f"{part}." for part in parts if part)


def _text_width(texts: Sequence[str]) -> float:
    return max((len(text) for text in texts), default=0) * CHAR_WIDTH


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _tidy(number: float) -> float:
    """`number` without float noise: 3 * 0.1 is 0.3, not 0.30000000000000004."""
    return float(f"{number:.12g}")


def _r(number: float) -> float:
    return round(number, 2)
