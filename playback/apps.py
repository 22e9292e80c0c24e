from __future__ import annotations

from collections.abc import Mapping

from django.apps import AppConfig


class PlaybackConfig(AppConfig):
    name = "playback"
    verbose_name = "Playback"

    def ready(self) -> None:
        from scrobbler.catalog import tracks_merging

        tracks_merging.connect(tracks_merging_received, dispatch_uid="playback.tracks_merging")


def tracks_merging_received(
    sender: object, *, aliases: Mapping[int, int], **kwargs: object
) -> None:
    """The catalog's merge reaches queues and sessions, which it may not import (a thin shell)."""
    from playback.sessions import sessions_tracks_merging

    sessions_tracks_merging(aliases=aliases)
