"""Template filters for numbers and durations (ops/formatting.py): `{{ n|count }}` → "36,292",
`{{ n|counted:"play" }}` → "1 play" / "2 plays", `{{ ms|duration }}` → "9 h 32 min"."""

from __future__ import annotations

from django import template

from ops.formatting import count_format, counted_format, duration_format

register = template.Library()

register.filter("count", count_format)
register.filter("counted", counted_format)
register.filter("duration", duration_format)
