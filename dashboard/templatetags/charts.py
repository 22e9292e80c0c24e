"""`{% bar_chart chart %}`, `{% line_chart chart %}`, `{% heatmap chart %}` and `{% calendar chart %}`:
a chart built by `dashboard.charts` (or `dashboard.calendar_chart`) as a <figure> holding the SVG drawing, its title and summary for screen
readers, and the same numbers as a table. That frame is one template,
`dashboard/charts/frame.html`; each chart's template extends it with its drawing.

Each tag takes an optional `id="..."`, the prefix of the ids that the SVG's `aria-labelledby`
refers to. Without one the prefix is made from the title and a counter that is unique within one
render of a page; a chart in a fragment that HTMX swaps into a page needs an explicit `id`, since
that fragment's render counts from 1 again.
"""

from __future__ import annotations

from typing import cast

from django import template
from django.template.context import Context
from django.utils.text import slugify

from dashboard.calendar_chart import Calendar
from dashboard.charts import BarChart, Heatmap, LineChart

register = template.Library()

COUNTER = "dashboard.charts.counter"


@register.inclusion_tag("dashboard/charts/bars.html", takes_context=True, name="bar_chart")
def bar_chart_tag(context: Context, chart: BarChart, id: str = "") -> dict[str, object]:
    return {"chart": chart, "id": id or _unique_id(context, chart.title)}


@register.inclusion_tag("dashboard/charts/line.html", takes_context=True, name="line_chart")
def line_chart_tag(context: Context, chart: LineChart, id: str = "") -> dict[str, object]:
    return {"chart": chart, "id": id or _unique_id(context, chart.title)}


@register.inclusion_tag("dashboard/charts/heatmap.html", takes_context=True, name="heatmap")
def heatmap_tag(context: Context, chart: Heatmap, id: str = "") -> dict[str, object]:
    return {"chart": chart, "id": id or _unique_id(context, chart.title)}


@register.inclusion_tag("dashboard/charts/calendar.html", takes_context=True, name="calendar")
def calendar_tag(context: Context, chart: Calendar, id: str = "") -> dict[str, object]:
    return {"chart": chart, "id": id or _unique_id(context, chart.title)}


def _unique_id(context: Context, title: str) -> str:
    # The bottom layer of the render context lives as long as the whole render: included
    # templates and inclusion tags push layers of their own above it, and share it.
    shared = cast("dict[str, int]", context.render_context.dicts[0])  # the stubs say str values
    shared[COUNTER] = number = shared.get(COUNTER, 0) + 1
    return f"chart-{slugify(title) or 'untitled'}-{number}"
