from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from scrobbler.spotify.errors import SpotifyError

log = logging.getLogger(__name__)


@shared_task(name="scrobbler.poll_due", ignore_result=True)
def poll_due() -> int:
    """Poll accounts as they fall due until just before the next tick (beat sends one every
    POLL_TICK_SECONDS), so polling is continuous without any task running for long."""
    from scrobbler import polling

    return polling.poll_tick(seconds=settings.POLL_TICK_SECONDS * 0.9)


@shared_task(name="scrobbler.demo_link", ignore_result=True)
def demo_link() -> bool:
    from scrobbler import demo

    return demo.demo_link_if_needed()


@shared_task(name="scrobbler.fetch_metadata", ignore_result=True)
def fetch_metadata() -> int:
    from scrobbler import metadata, pictures

    fetched = metadata.metadata_fetch_missing().fetched
    if fetched:  # new image_urls: their pictures need not wait for the next beat
        pictures.pictures_fetch_queue()
    return fetched


PLAYLIST_SCANS_PER_RUN = 10


@shared_task(name="scrobbler.scan_playlists", ignore_result=True)
def scan_playlists() -> int:
    """Scan the playlists of accounts not scanned for a day, a few per run."""
    from scrobbler import playlists

    due = playlists.playlists_due(now=timezone.now(), limit=PLAYLIST_SCANS_PER_RUN)
    for account_id in due:
        try:
            playlists.playlists_scan(account_id=account_id)
        except SpotifyError as exc:
            log.info("playlists of account %s not scanned: %s", account_id, exc)
    return len(due)


@shared_task(name="scrobbler.rollups_refresh", ignore_result=True)
def rollups_refresh(user_id: int) -> bool:
    """Bring one user's dashboard rollups up to date (after a time-zone change, say)."""
    from scrobbler import rollups

    return rollups.rollups_refresh(user_id)


@shared_task(name="scrobbler.rollups_housekeeping", ignore_result=True)
def rollups_housekeeping() -> int:
    """Finish refreshes a crash interrupted, and those other users' merged tracks asked for;
    delete polling's JobRuns older than JOB_RUN_POLLS_DAYS (every ROLLUPS_HOUSEKEEPING_SECONDS)."""
    from scrobbler import jobruns, rollups

    jobruns.poll_minutes_prune()
    return rollups.rollups_refresh_stale()


@shared_task(name="scrobbler.fetch_pictures", ignore_result=True)
def fetch_pictures() -> int:
    """Download a few missing album and artist pictures (every PICTURES_INTERVAL_SECONDS, and
    after a metadata run that found some)."""
    from scrobbler import pictures

    return pictures.pictures_fetch_missing().stored
