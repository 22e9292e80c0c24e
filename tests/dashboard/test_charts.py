"""Server-rendered SVG charts: the geometry `dashboard.charts` works out, and the markup the
`charts` template tags make of it."""

from __future__ import annotations

import itertools
import math
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from dashboard.charts import (
    CHAR_WIDTH,
    LEVELS,
    MAX_X_LABELS,
    NARROW_PLOT,
    WIDE_PLOT,
    BarChart,
    bar_chart,
    day_label,
    format_number,
    heatmap,
    legend,
    level,
    line_chart,
    month_label,
    nice_ticks,
)

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
HOURS = [f"{hour:02}:00" for hour in range(24)]


def bars_of(values: list[float]) -> BarChart:
    return bar_chart(
        [(f"2024-03-{i + 1:02}", value) for i, value in enumerate(values)],
        title="Plays per day",
        value_label="plays",
    )


def render(source: str, **context: object) -> str:
    return Template("{% load charts %}" + source).render(Context(context))


class Tags(HTMLParser):
    """The names of the elements and attributes in some HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.attributes.update(name for name, _ in attrs)


def table_rows(html: str) -> list[tuple[str, ...]]:
    return [
        (label, *re.findall(r"<td>(.*?)</td>", cells))
        for label, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', html)
    ]


# --- Bars ---------------------------------------------------------------------------------


def test_the_tallest_bar_spans_the_plot_and_a_zero_bar_has_no_height() -> None:
    chart = bars_of([10, 40, 0])

    assert [tick.value for tick in chart.y_ticks] == [0, 10, 20, 30, 40]
    tallest, zero = chart.bars[1], chart.bars[2]
    assert (tallest.y, tallest.height) == (chart.plot.top, chart.plot.height)
    assert (zero.y, zero.height) == (chart.plot.bottom, 0)
    assert chart.bars[0].height == pytest.approx(chart.plot.height / 4)


@pytest.mark.parametrize("count", [1, 2, 7, 31, 365, 1500])
def test_bars_never_overlap_and_stay_inside_the_view_box(count: int) -> None:
    chart = bars_of([float(i % 17) + 1 for i in range(count)])

    assert len(chart.bars) == count
    for bar in chart.bars:
        assert bar.width > 0
        assert chart.plot.left <= bar.x
        assert bar.x + bar.width <= chart.plot.right + 1e-9
        assert chart.plot.top <= bar.y
        assert bar.y + bar.height == pytest.approx(chart.plot.bottom)
        assert chart.plot.right <= chart.width
        assert chart.plot.bottom <= chart.height
    for left, right in itertools.pairwise(chart.bars):
        assert left.x + left.width <= right.x + 1e-9


def test_wide_bars_have_gaps_and_thin_ones_touch_rather_than_vanish() -> None:
    wide, thin = bars_of([1.0] * 10), bars_of([1.0] * 1500)

    gap = wide.bars[1].x - (wide.bars[0].x + wide.bars[0].width)
    assert gap * NARROW_PLOT / 100 > 4  # pixels, on the narrowest chart
    slot = thin.plot.width / 1500
    assert all(bar.width == pytest.approx(slot, abs=0.01) for bar in thin.bars)
    assert thin.bars[1].x == pytest.approx(thin.bars[0].x + thin.bars[0].width)


@given(
    st.lists(
        st.one_of(st.integers(0, 10**6).map(float), st.floats(0, 1e9, allow_nan=False)),
        min_size=1,
        max_size=400,
    )
)
def test_any_bars_stay_in_the_view_box_with_heights_proportional_to_values(
    values: list[float],
) -> None:
    chart = bars_of(values)

    if chart.empty:
        assert not any(values)
        return
    top = chart.y_ticks[-1].value
    assert top >= max(values)
    for bar, value in zip(chart.bars, values, strict=True):
        assert bar.x >= 0
        assert bar.x + bar.width <= chart.width
        assert bar.y >= 0
        assert bar.y + bar.height <= chart.height
        assert bar.height == pytest.approx(value / top * chart.plot.height, abs=0.01)


@pytest.mark.parametrize("tiny", [5e-324, 1e-310, 1e-200, 1e-7])
def test_tiny_values_get_an_axis_instead_of_hanging(tiny: float) -> None:
    chart = bars_of([tiny])
    assert chart.y_ticks[-1].value >= tiny
    assert len(chart.y_ticks) <= 5


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0, 1, 2]),
        (1, [0, 1, 2]),
        (3, [0, 1, 2, 3]),
        (5, [0, 2, 4, 6]),
        (9, [0, 5, 10]),
        (37, [0, 10, 20, 30, 40]),
        (41, [0, 25, 50]),
        (100, [0, 25, 50, 75, 100]),
        (1500, [0, 500, 1000, 1500]),
        (12345, [0, 5000, 10000, 15000]),
    ],
)
def test_ticks_are_round_numbers_from_zero_covering_the_maximum(
    maximum: int, ticks: list[int]
) -> None:
    assert list(nice_ticks(maximum)) == ticks


def test_fractional_values_get_fractional_ticks_without_float_noise() -> None:
    assert nice_ticks(0.1 + 0.2, whole=False) == (0, 0.1, 0.2, 0.3)
    assert nice_ticks(0.7, whole=False) == (0, 0.2, 0.4, 0.6, 0.8)


@pytest.mark.parametrize("maximum", [1, 2, 7, 13, 99, 250, 999, 4321, 86_400, 1_234_567])
def test_there_are_three_to_five_evenly_spaced_ticks_at_a_round_step(maximum: int) -> None:
    ticks = nice_ticks(maximum)
    steps = {b - a for a, b in itertools.pairwise(ticks)}

    assert 3 <= len(ticks) <= 5
    assert ticks[0] == 0
    assert ticks[-1] >= maximum
    assert len(steps) == 1
    (step,) = steps
    assert step / 10 ** math.floor(math.log10(step)) in {1, 2, 2.5, 5}


def test_tick_labels_are_formatted_and_sit_on_their_grid_lines() -> None:
    chart = bars_of([0, 1200, 3456])

    assert [tick.label for tick in chart.y_ticks] == ["0", "1,000", "2,000", "3,000", "4,000"]
    assert chart.y_ticks[0].y == chart.plot.bottom
    assert chart.y_ticks[-1].y == chart.plot.top
    assert all(tick.text_x < chart.plot.left for tick in chart.y_ticks)


def test_x_labels_are_thinned_to_at_most_twelve_evenly_spaced_that_never_touch() -> None:
    chart = bars_of([1.0] * 1500)

    labels = chart.x_labels
    assert 2 <= len(labels) <= MAX_X_LABELS
    assert labels[0].text == "2024-03-01"
    assert labels[0].x == pytest.approx(chart.bars[0].x + chart.bars[0].width / 2, abs=0.01)
    # x is in per cent of the plot: in pixels on the narrowest wide chart, and on a phone for
    # the subset shown there, neighbours never touch.
    gaps = [b.x - a.x for a, b in itertools.pairwise(labels)]
    assert max(gaps) - min(gaps) < 0.02
    assert min(gaps) * WIDE_PLOT / 100 > len("2024-03-01") * CHAR_WIDTH
    narrow = [label for label in labels if label.narrow]
    assert labels[0] in narrow
    assert 2 <= len(narrow) < len(labels)
    narrow_gaps = [b.x - a.x for a, b in itertools.pairwise(narrow)]
    assert min(narrow_gaps) * NARROW_PLOT / 100 > len("2024-03-01") * CHAR_WIDTH


def test_a_few_short_labels_are_all_shown() -> None:
    chart = bar_chart([(day, 3) for day in WEEKDAYS], title="Plays by day", value_label="plays")

    assert [label.text for label in chart.x_labels] == WEEKDAYS
    assert [label.narrow for label in chart.x_labels] == [True, False] * 3 + [True]


def test_axis_labels_can_be_shorter_than_the_table_and_tooltip_labels() -> None:
    days = [date(2026, 11, 10) + timedelta(days=i) for i in range(3)]
    chart = bar_chart(
        [(day_label(d, year=True), i + 1) for i, d in enumerate(days)],
        axis_labels=[day_label(d) for d in days],
        title="Plays per day",
        value_label="plays",
    )

    assert [label.text for label in chart.x_labels] == ["Nov 10", "Nov 11", "Nov 12"]
    assert chart.bars[1].tooltip == "Nov 11, 2026: 2 plays"
    assert chart.table_rows[1].label == "Nov 11, 2026"


def test_dates_read_as_words_not_iso() -> None:
    assert day_label(date(2026, 11, 11)) == "Nov 11"
    assert day_label(date(2026, 1, 2), year=True) == "Jan 2, 2026"
    assert month_label(date(2026, 11, 1)) == "Nov 2026"
    assert month_label(date(2024, 2, 29)) == "Feb 2024"


def test_bars_say_what_they_show() -> None:
    chart = bars_of([4, 42, 7])

    assert chart.bars[1].tooltip == "2024-03-02: 42 plays"
    assert chart.summary == "From 2024-03-01 to 2024-03-03. Highest: 2024-03-02, 42 plays."
    assert [(row.label, row.value) for row in chart.table_rows] == [
        ("2024-03-01", "4"),
        ("2024-03-02", "42"),
        ("2024-03-03", "7"),
    ]


@pytest.mark.parametrize("values", [[], [0, 0, 0]])
def test_a_bar_chart_with_nothing_to_draw_says_no_data(values: list[float]) -> None:
    chart = bars_of(values)

    assert chart.empty
    assert chart.summary == "No data"
    assert chart.bars == ()
    html = render("{% bar_chart chart %}", chart=chart)
    assert ">No data</text>" in html
    assert "<rect" not in html
    assert "<table" not in html


@pytest.mark.parametrize("value", [-1, math.nan, math.inf])
def test_values_must_be_finite_and_not_negative(value: float) -> None:
    with pytest.raises(ValueError, match="finite and not negative"):
        bars_of([1, value])


def test_numbers_are_formatted_whole_with_separators_and_fractions_briefly() -> None:
    assert [format_number(v) for v in (0, 7, 1234.0, 2.5, 1 / 3)] == [
        "0",
        "7",
        "1,234",
        "2.5",
        "0.33",
    ]


# --- Lines --------------------------------------------------------------------------------


def test_an_inverted_line_puts_the_smallest_value_highest_with_one_at_the_top() -> None:
    chart = line_chart(
        [("Jan", 3), ("Feb", 1), ("Mar", 12)], title="Rank", value_label="rank", invert=True
    )

    by_value = {dot.value: dot.y for dot in chart.dots}
    assert by_value[1] == chart.plot.top
    assert by_value[1] < by_value[3] < by_value[12]
    assert [tick.value for tick in chart.y_ticks] == [1, 5, 10, 15]
    assert chart.y_ticks[0].y == chart.plot.top
    assert chart.summary == "From Jan to Mar. Highest: Feb, 1 rank. Latest: Mar, 12 rank."


def test_a_plain_line_puts_the_largest_value_highest() -> None:
    chart = line_chart([("Jan", 3), ("Feb", 1), ("Mar", 12)], title="Plays", value_label="plays")

    by_value = {dot.value: dot.y for dot in chart.dots}
    assert by_value[12] < by_value[3] < by_value[1]
    assert chart.y_ticks[0].value == 0
    assert chart.y_ticks[0].y == chart.plot.bottom


def test_missing_values_split_the_line_into_segments() -> None:
    values = [1, 2, None, 3, None, None, 4, 5]
    chart = line_chart(
        [(f"w{i}", value) for i, value in enumerate(values)], title="Rank", value_label="rank"
    )

    assert [len(segment.points) for segment in chart.segments] == [2, 1, 2]
    assert len(chart.dots) == 5
    assert [(dot.x, dot.y) for dot in chart.dots] == [p for s in chart.segments for p in s.points]
    assert chart.table_rows[2].value == "No data"
    assert chart.segments[0].svg_points == " ".join(f"{x},{y}" for x, y in chart.segments[0].points)


def test_a_line_without_any_value_says_no_data() -> None:
    chart = line_chart([("Jan", None), ("Feb", None)], title="Rank", value_label="rank")

    assert chart.empty
    assert chart.summary == "No data"
    assert (chart.segments, chart.dots) == ((), ())


# --- Heatmaps -----------------------------------------------------------------------------


def test_heatmap_cells_are_shaded_by_their_share_of_the_largest_value() -> None:
    chart = heatmap(
        [[0, 1], [2, 4]],
        row_labels=["Mon", "Tue"],
        column_labels=["00:00", "01:00"],
        title="When",
        value_label="plays",
    )

    assert [cell.intensity for cell in chart.cells] == [0, 0.25, 0.5, 1]
    assert [cell.level for cell in chart.cells] == [0, 1, 2, 4]
    assert [(entry.level, entry.text) for entry in chart.legend] == [
        (0, "0"),
        (1, "1"),
        (2, "2"),
        (3, "3"),
        (4, "4"),
    ]
    assert [cell.empty for cell in chart.cells] == [True, False, False, False]
    assert chart.cells[3].tooltip == "Tue 01:00: 4 plays"
    assert chart.summary == "Highest: Tue 01:00, 4 plays."
    assert [(row.label, row.values) for row in chart.table_rows] == [
        ("Mon", ("0", "1")),
        ("Tue", ("2", "4")),
    ]


def test_a_week_of_hours_fits_the_view_box_without_overlapping_cells() -> None:
    grid = [[(day * 24 + hour) % 11 for hour in range(24)] for day in range(7)]
    chart = heatmap(
        grid, row_labels=WEEKDAYS, column_labels=HOURS, title="When", value_label="plays"
    )

    assert len(chart.cells) == 7 * 24
    for cell in chart.cells:
        assert cell.x >= 0
        assert cell.x + cell.width <= chart.width
        assert cell.y >= 0
        assert cell.y + cell.height <= chart.height
    row = chart.cells[:24]
    assert all(a.x + a.width < b.x for a, b in itertools.pairwise(row))
    assert 2 <= len(chart.column_labels) < 24
    assert [label.text for label in chart.row_labels] == WEEKDAYS


@given(st.integers(1, 10**6))
def test_the_legend_names_every_whole_value_once_with_the_level_it_is_drawn_in(
    maximum: int,
) -> None:
    entries = legend(maximum)
    spans: list[tuple[int, int, int]] = []
    for entry in entries[1:]:
        first, _, last = entry.text.replace(",", "").partition("\N{EN DASH}")
        spans.append((entry.level, int(first), int(last or first)))
    assert entries[0].text == "0"
    assert spans[0][1] == 1
    assert spans[-1] == (LEVELS, spans[-1][1], maximum)
    for (_, _, high), (_, low, _) in itertools.pairwise(spans):
        assert low == high + 1
    for shade, low, high in spans:
        assert level(low, maximum) == level(high, maximum) == shade


def test_a_legend_of_fractions_gives_each_level_its_upper_bound() -> None:
    assert [entry.text for entry in legend(2.5)] == [
        "0",
        "up to 0.62",
        "up to 1.25",
        "up to 1.88",
        "up to 2.5",
    ]


def test_a_heatmap_of_zeros_says_no_data() -> None:
    chart = heatmap(
        [[0] * 24 for _ in WEEKDAYS],
        row_labels=WEEKDAYS,
        column_labels=HOURS,
        title="When",
        value_label="plays",
    )

    assert chart.empty
    assert chart.summary == "No data"


def test_a_heatmap_needs_a_value_per_label() -> None:
    with pytest.raises(ValueError, match="one value per column label"):
        heatmap(
            [[1, 2], [3]],
            row_labels=["a", "b"],
            column_labels=["x", "y"],
            title="t",
            value_label="v",
        )


# --- Rendering ----------------------------------------------------------------------------


def test_a_bar_chart_renders_as_a_labelled_svg_image_with_a_table() -> None:
    chart = bar_chart(
        [("2024-03-04", 7), ("2024-03-05", 42)],
        title="Plays per day",
        value_label="plays",
        label_header="Day",
    )

    html = render("{% bar_chart chart %}", chart=chart)

    assert html.startswith('<figure class="chart chart-bars"')
    assert 'role="img"' in html
    ids = re.search(r'aria-labelledby="(\S+) (\S+)"', html)
    assert ids
    title_id, desc_id = ids.groups()
    assert f'<title id="{title_id}">Plays per day</title>' in html
    assert f'<desc id="{desc_id}">{chart.summary}</desc>' in html
    assert "<title>2024-03-05: 42 plays</title>" in html
    assert html.count('<rect class="chart-bar"') == 2
    assert '<details class="chart-table"><summary>Show as table</summary>' in re.sub(
        r">\s+<", "><", html
    )
    assert '<th scope="col">Day</th><th scope="col">Plays</th>' in html
    assert table_rows(html) == [("2024-03-04", "7"), ("2024-03-05", "42")]
    assert "<figcaption>Plays per day</figcaption>" in html


def test_charts_on_one_page_get_distinct_ids_even_from_included_templates() -> None:
    chart = bars_of([1, 2])
    inner = Template("{% load charts %}{% bar_chart chart %}")

    html = render(
        "{% bar_chart chart %}{% bar_chart chart %}{% include inner %}", chart=chart, inner=inner
    )

    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == 9
    assert len(set(ids)) == len(ids)
    for labelled_by in re.findall(r'aria-labelledby="([^"]+)"', html):
        assert all(f'id="{ref}"' in html for ref in labelled_by.split())


def test_a_chart_can_be_given_its_id() -> None:
    html = render('{% bar_chart chart id="daily" %}', chart=bars_of([1]))

    assert 'aria-labelledby="daily-title daily-desc"' in html
    assert '<figure class="chart chart-bars" id="daily">' in html


def test_a_line_renders_a_polyline_per_segment_and_a_dot_per_value() -> None:
    chart = line_chart(
        [("Jan", 2), ("Feb", None), ("Mar", 1), ("Apr", 4)],
        title="Rank over time",
        value_label="rank",
        invert=True,
    )

    html = render("{% line_chart chart %}", chart=chart)

    assert html.count('<polyline class="chart-line"') == 2
    assert html.count('<circle class="chart-dot"') == 3
    assert f'points="{chart.segments[1].svg_points}"' in html
    assert "<title>Mar: 1 rank</title>" in html
    assert table_rows(html) == [("Jan", "2"), ("Feb", "No data"), ("Mar", "1"), ("Apr", "4")]


def test_a_heatmap_renders_shaded_cells_and_a_row_per_label() -> None:
    chart = heatmap(
        [[0, 3], [6, 12]],
        row_labels=["Mon", "Tue"],
        column_labels=["20:00", "21:00"],
        title="When you listen",
        value_label="plays",
    )

    html = render("{% heatmap chart %}", chart=chart)

    assert html.count('<rect class="chart-cell-empty"') == 1
    assert html.count('<rect class="chart-cell chart-level-') == 3
    assert re.search(
        r'class="chart-cell chart-level-4"[^>]*><title>Tue 21:00: 12 plays</title>', html
    )
    found = re.search(r'<p class="chart-legend">(.*?)</p>', html, re.S)
    assert found is not None
    legend = re.sub(r"\s+", " ", found[1])
    assert '<span class="chart-swatch chart-level-0"></span>0</span>' in legend
    assert '<span class="chart-swatch chart-level-4"></span>10\N{EN DASH}12</span>' in legend
    assert '<th scope="col">20:00</th><th scope="col">21:00</th>' in html
    assert table_rows(html) == [("Mon", "0", "3"), ("Tue", "6", "12")]


def test_hostile_labels_are_escaped_and_no_chart_has_inline_styles_or_scripts() -> None:
    hostile = '<script>alert(1)</script>" style="color:red'
    charts = {
        "bars": bar_chart([(hostile, 1)], title=hostile, value_label=hostile),
        "line": line_chart([(hostile, 1), ("b", None)], title=hostile, value_label="x"),
        "map": heatmap(
            [[1]], row_labels=[hostile], column_labels=[hostile], title=hostile, value_label="x"
        ),
    }

    html = render("{% bar_chart bars %}{% line_chart line %}{% heatmap map %}", **charts)

    tags = Tags()
    tags.feed(html)
    assert "script" not in tags.names
    assert "style" not in tags.names
    assert "style" not in tags.attributes
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot; style=&quot;" in html


def test_coordinates_are_not_localised() -> None:
    chart = bars_of([1.5, 3])

    with translation.override("de"):
        html = render("{% bar_chart chart %}", chart=chart)

    assert "viewBox" not in html.split("<polyline")[0]  # nothing scales: text keeps its size
    assert re.search(r'<svg height="\d+\.\d+" role="img"', html)
    assert re.search(r'<rect class="chart-bar" x="\d+\.\d+%"', html)
