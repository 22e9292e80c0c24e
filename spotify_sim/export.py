"""Spotify data exports of simulated listening, as Spotify writes "Extended Streaming History".

`export_record` writes one listen as the export does; `synthetic_export` makes an export of any
size from a seed (benchmarks), with the real files' quirks: records unsorted within a file,
repeated records, podcast episodes, rows without track metadata, skips with zero `ms_played`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from spotify_sim.catalog import Catalog, generate_catalog

RECORDS_PER_FILE = 15_000  # about what Spotify puts in one 12 MB file


def export_record(
    catalog: Catalog, uri: str, ended_ms: int, ms_played: int, reason_end: str
) -> dict[str, Any]:
    """The export's record of a listen of `uri` (a track, local file or episode of `catalog`)
    ending at `ended_ms`, with Spotify's `reason_end` ("trackdone", "fwdbtn", ...)."""
    ts = datetime.fromtimestamp(ended_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record: dict[str, Any] = {
        "ts": ts,
        "platform": "android",
        "ms_played": ms_played,
        "conn_country": "SE",
        "ip_addr": "192.0.2.1",
        "master_metadata_track_name": None,
        "master_metadata_album_artist_name": None,
        "master_metadata_album_album_name": None,
        "spotify_track_uri": None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "reason_start": "trackdone",
        "reason_end": reason_end,
        "shuffle": False,
        "skipped": reason_end in ("fwdbtn", "backbtn"),
        "offline": False,
        "offline_timestamp": ended_ms // 1000,
        "incognito_mode": False,
    }
    kind, _, key = uri.partition(":")[2].partition(":")
    if kind == "track":
        track = catalog.tracks[key]
        record.update(
            master_metadata_track_name=track.name,
            master_metadata_album_artist_name=catalog.artists[track.artist_ids[0]].name,
            master_metadata_album_album_name=catalog.albums[track.album_id].name,
            spotify_track_uri=uri,
        )
    elif kind == "local":
        local = catalog.local_tracks[uri]
        record.update(
            master_metadata_track_name=local.title,
            master_metadata_album_artist_name=local.artist,
            master_metadata_album_album_name=local.album,
        )
    elif kind == "episode":
        episode = catalog.episodes[key]
        record.update(
            episode_name=episode.name,
            episode_show_name=catalog.shows[episode.show_id].name,
            spotify_episode_uri=uri,
        )
    return record


def synthetic_export(
    plays: int, *, seed: str, start_ms: int
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(file name, records) of an export holding about `plays` music plays, in Spotify's files."""
    rng = random.Random(f"export:{seed}")
    catalog = generate_catalog(seed, artist_count=max(60, plays // 500))
    track_ids = catalog.track_ids
    episodes = list(catalog.episodes)
    records = _synthetic_records(rng, catalog, track_ids, episodes, plays, start_ms)
    for number, chunk in enumerate(_chunks(records, RECORDS_PER_FILE)):
        years = sorted({r["ts"][:4] for r in chunk})
        rng.shuffle(chunk)  # Spotify's files are not sorted
        yield f"Streaming_History_Audio_{years[0]}-{years[-1]}_{number}.json", chunk


def _synthetic_records(
    rng: random.Random,
    catalog: Catalog,
    track_ids: tuple[str, ...],
    episodes: list[str],
    plays: int,
    start_ms: int,
) -> Iterator[dict[str, Any]]:
    t = start_ms
    previous: dict[str, Any] | None = None
    for _ in range(plays):
        roll = rng.random()
        if previous is not None and roll < 0.001:
            yield previous  # Spotify lists a listen twice now and then
            continue
        if roll < 0.006:
            uri = f"spotify:episode:{rng.choice(episodes)}"
            duration = catalog.episodes[uri.rsplit(":", 1)[1]].duration_ms
        else:
            track = catalog.tracks[track_ids[int(len(track_ids) * rng.random() ** 3)]]
            uri, duration = track.uri, track.duration_ms
        style = rng.random()
        if style < 0.65:
            ms_played, reason = duration, "trackdone"
        elif style < 0.9:
            ms_played, reason = rng.choice([0, rng.randint(0, 30_000)]), "fwdbtn"
        else:
            ms_played, reason = rng.randint(min(30_000, duration), duration), "endplay"
        pause = rng.randint(0, 5_000) if rng.random() < 0.98 else rng.randint(1, 8) * 3_600_000
        t += ms_played + pause
        previous = export_record(catalog, uri, t, ms_played, reason)
        if roll > 0.9995:
            previous.update(master_metadata_track_name=None, spotify_track_uri=None)
        yield previous


def _chunks(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
