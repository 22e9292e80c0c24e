"""The public global stats page (dashboard.global_stats); open to anyone, signed in or not."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.charts import bar_chart
from dashboard.global_stats import global_stats


@require_GET
def global_stats_view(request: HttpRequest) -> HttpResponse:
    stats = global_stats()
    hour_chart = bar_chart(
        [(f"{hour:02d}:00", plays) for hour, plays in enumerate(stats.plays_by_hour)],
        title="Plays by hour of day",
        value_label="plays",
        label_header="Hour",
    )
    context = {
        "stats": stats,
        "hour_chart": hour_chart,
        "refresh_minutes": round(settings.GLOBAL_STATS_SECONDS / 60),
    }
    return render(request, "dashboard/global.html", context)
