from __future__ import annotations

from celery import shared_task


# The name it had before the rooms split: beat entries and queued refreshes still find it.
@shared_task(name="scrobbler.global_stats_refresh", ignore_result=True)
def global_stats_refresh() -> None:
    """Recompute the public global stats into the cache (beat, every GLOBAL_STATS_SECONDS), so
    that no visitor waits for them."""
    from dashboard.global_stats import global_stats_refresh as refresh

    refresh()
