"""Running imports the way the upload page and the command do, for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imports import services
from imports.models import Import
from scrobbler.models import Play, User
from spotify_sim.export import export_record
from spotify_sim.listener import Listener

# How a simulated listener's play ended, as the export's `reason_end` says it.
REASON_END = {
    "finished": "trackdone",
    "loop": "trackdone",
    "next": "fwdbtn",
    "previous": "backbtn",
    "stopped": "endplay",
}


def analyse(user: User, *paths: Path) -> Import:
    imp = services.import_create_from_paths(user=user, paths=list(paths))
    services.import_analyse(import_id=imp.pk)
    imp.refresh_from_db()
    return imp


def run_import(user: User, *paths: Path) -> Import:
    """Analyse, confirm and import; the import must succeed."""
    imp = analyse(user, *paths)
    assert imp.status == Import.Status.READY, imp.error
    assert services.import_confirm(imp=imp, queue=False)
    services.import_run(import_id=imp.pk)
    imp.refresh_from_db()
    assert imp.status == Import.Status.DONE, imp.error
    return imp


def extended_listen(ts: str) -> dict[str, Any]:
    """An Extended Streaming History record at `ts`: "Song" by "Artist", heard to its end."""
    return {
        "ts": ts,
        "ms_played": 200_000,
        "master_metadata_track_name": "Song",
        "master_metadata_album_artist_name": "Artist",
        "master_metadata_album_album_name": "Album",
        "spotify_track_uri": "spotify:track:" + "A" * 22,
        "reason_end": "trackdone",
    }


def listener_export(listener: Listener, *, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """What Spotify's export would list for the listener's plays ending in [start, end)."""
    return [
        export_record(
            listener.catalog, p.track_uri, p.ended_at_ms, p.ms_played, REASON_END[p.end_reason]
        )
        for p in listener.plays(start_ms, end_ms)
        if start_ms <= p.ended_at_ms < end_ms
    ]


def write_json(path: Path, records: Any) -> Path:
    path.write_text(json.dumps(records))
    return path


def stored(user: User) -> list[tuple[str, str, int, str, bool, bool]]:
    """The user's plays as comparable tuples, in time order."""
    return [
        (uri, ended.isoformat(), ms, source, counted, skipped)
        for uri, ended, ms, source, counted, skipped in Play.objects.filter(user=user)
        .order_by("ended_at", "track__uri")
        .values_list("track__uri", "ended_at", "ms_played", "source", "counted", "skipped")
    ]
