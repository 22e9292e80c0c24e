"""A user's own account settings, and deleting the account with everything in it.

Every function takes the signed-in user and changes only that user's rows: no id from a request
ever reaches here.
"""

from __future__ import annotations

import functools
import zoneinfo

from django.db import transaction
from django.utils import timezone

from imports import services as import_services
from imports.models import Import
from playback.models import Device, PlaybackSession, QueueItem
from scrobbler.models import Play, Playlist, PollMode, SpotifyAccount, TrackLike, User
from scrobbler.rollups import rollups_refresh_later

# Not places: the server's own zone (which differs between machines) and tzdata's placeholder.
_NOT_ZONES = frozenset({"localtime", "Factory"})

PLAY_MIN_SECONDS_RANGE = (5, 600)
PLAY_MIN_PERCENT_RANGE = (1, 100)


@functools.cache
def time_zones() -> tuple[str, ...]:
    """The IANA zones a user may choose, sorted (reading them walks tzdata, hence the cache)."""
    return tuple(sorted(zoneinfo.available_timezones() - _NOT_ZONES))


@transaction.atomic
def account_time_zone_set(*, user: User, time_zone: str) -> bool:
    """Count the user's days and hours in `time_zone` from now on. A change rebuilds the
    dashboard's rollups in the new zone, in a worker. Returns whether the zone changed."""
    if time_zone not in time_zones():
        raise ValueError(f"unknown time zone {time_zone!r}")
    if time_zone == user.time_zone:
        return False
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    rollups_refresh_later(user_id=user.pk)
    return True


def account_thresholds_set(
    *, user: User, play_min_seconds: int | None, play_min_percent: int | None
) -> None:
    """When a listen counts as a play, for plays recorded from now on; None: the site's default.
    Plays already stored keep how they were counted."""
    for value, (low, high) in (
        (play_min_seconds, PLAY_MIN_SECONDS_RANGE),
        (play_min_percent, PLAY_MIN_PERCENT_RANGE),
    ):
        if value is not None and not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
    user.play_min_seconds = play_min_seconds
    user.play_min_percent = play_min_percent
    user.save(update_fields=["play_min_seconds", "play_min_percent"])


def account_share_stats_set(*, user: User, share_stats: bool) -> None:
    user.share_stats = share_stats
    user.save(update_fields=["share_stats"])


def spotify_poll_mode_set(*, user: User, poll_mode: str) -> bool:
    """Which Spotify endpoints the user's account is polled with. False: no Spotify link."""
    if poll_mode not in PollMode.values:
        raise ValueError(f"unknown poll mode {poll_mode!r}")
    return bool(SpotifyAccount.objects.filter(user=user).update(poll_mode=poll_mode))


def spotify_polling_pause(*, user: User, paused: bool) -> bool:
    """Stop (or start again) recording the user's plays from Spotify. Resuming makes the
    account due at once, so recording starts with the next poll. False: no Spotify link."""
    fields: dict[str, object] = {"polling_paused": paused}
    if not paused:
        fields["next_poll_at"] = timezone.now()
    return bool(SpotifyAccount.objects.filter(user=user).update(**fields))


def account_contents(*, user: User) -> list[tuple[str, int]]:
    """What deleting the user deletes, as (what, how many): for a confirmation page. The
    dashboard's rollups, derived from the plays, go too."""
    return [
        ("plays", Play.objects.filter(user=user).count()),
        ("imports, with their uploaded files", Import.objects.filter(user=user).count()),
        ("Spotify link and its tokens", SpotifyAccount.objects.filter(user=user).count()),
        ("playlists", Playlist.objects.filter(user=user).count()),
        ("liked tracks", TrackLike.objects.filter(user=user).count()),
        ("devices", Device.objects.filter(user=user).count()),
        ("playback sessions", PlaybackSession.objects.filter(user=user).count()),
        ("queued tracks", QueueItem.objects.filter(user=user).count()),
    ]


@transaction.atomic
def account_delete(*, user: User) -> None:
    """Delete the user and everything that is theirs: plays, rollups, imports (and the files
    uploaded for them), likes, playlists, the Spotify link and its tokens.

    Every table holding a user's rows points at the user with on_delete=CASCADE, so deleting the
    user deletes them. The big ones (plays, rollups) have nothing pointing at them, so Django
    deletes them with one DELETE … WHERE user_id = … each, without reading a row (a receiver of
    their delete signals would undo that; tests/accounts/test_account_settings.py bounds the
    queries). Uploaded files go once the rows are gone for good, after commit.
    """
    imports = list(Import.objects.filter(user=user).only("public_id", "files"))
    user.delete()

    def remove_files() -> None:
        for imp in imports:
            # imports' own rule for which of an import's files are Encore's to delete.
            import_services.import_files_remove(imp)

    transaction.on_commit(remove_files)
