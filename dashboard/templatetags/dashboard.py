"""Formatting for the dashboard: durations, shares, changes against the previous period."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from ops.formatting import duration_format

register = template.Library()


# The one duration format (ops/formatting.py), under the name these templates already use.
register.filter("duration", duration_format)


@register.filter
def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.simple_tag
def change(now: int, before: int) -> str:
    """How `now` compares with `before`, as an arrow and a percentage."""
    if not before:
        if not now:
            return mark_safe('<span class="same">no plays before</span>')
        return mark_safe('<span class="up" title="Nothing in the previous period">new</span>')
    ratio = (now - before) / before
    if ratio == 0:
        return mark_safe('<span class="same">no change</span>')
    arrow, css = ("▲", "up") if ratio > 0 else ("▼", "down")
    return format_html('<span class="{}">{} {}%</span>', css, arrow, f"{abs(ratio) * 100:.0f}")


@register.simple_tag
def rank_change(row: Any, period: Any) -> str:
    """Places climbed or fallen since the previous period."""
    if period.key == "all":
        return ""
    if row.rank_change is None:
        return mark_safe('<span class="up" title="Not played in the previous period">new</span>')
    if row.rank_change == 0:
        return mark_safe('<span class="same" title="Same place as before">=</span>')
    arrow, css = ("▲", "up") if row.rank_change > 0 else ("▼", "down")
    return format_html(
        '<span class="{}" title="Was #{}">{} {}</span>',
        css,
        row.previous_rank,
        arrow,
        abs(row.rank_change),
    )
