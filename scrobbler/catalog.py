"""The catalog: artists, albums and tracks keyed by Spotify URI or a deterministic local id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scrobbler.models import Album, Artist, Track, TrackArtist


def local_uri(*names: str) -> str:
    """`local:<sha1>` of the names (e.g. artist and track), case- and space-insensitive, so the same
    song from an export, a local file or a Spotify local file gets the same id."""
    key = "|".join(" ".join(name.split()).casefold() for name in names)
    return "local:" + hashlib.sha1(key.encode()).hexdigest()  # noqa: S324 - an id, not security


@dataclass
class CatalogEntry:
    uri: str
    name: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrackEntry:
    uri: str
    name: str
    duration_ms: int | None
    isrc: str
    album: CatalogEntry | None
    artists: list[CatalogEntry]
    album_artists: list[CatalogEntry] = field(default_factory=list)  # the album's own credits


def track_entry(item: Mapping[str, Any]) -> TrackEntry | None:
    """A Spotify track object as catalog entries; None for anything that is not a track."""
    if not isinstance(item, Mapping) or item.get("type", "track") != "track":
        return None
    name = str(item.get("name") or "").strip()
    if not name:
        return None
    artist_objects = [a for a in item.get("artists") or [] if isinstance(a, Mapping)]
    artist_names = [str(a.get("name") or "").strip() for a in artist_objects]
    album_object = item.get("album") if isinstance(item.get("album"), Mapping) else None
    is_local = bool(item.get("is_local")) or not item.get("uri")
    uri = local_uri(artist_names[0] if artist_names else "", name) if is_local else str(item["uri"])
    artists = [
        CatalogEntry(
            uri=str(a["uri"]) if a.get("uri") and not is_local else local_uri(n),
            name=n or "Unknown",
        )
        for a, n in zip(artist_objects, artist_names, strict=True)
    ]
    album = None
    if album_object is not None and album_object.get("name"):
        album_name = str(album_object["name"]).strip()
        images = album_object.get("images") or []
        album = CatalogEntry(
            uri=str(album_object["uri"])
            if album_object.get("uri") and not is_local
            else local_uri(artist_names[0] if artist_names else "", album_name),
            name=album_name,
            extra={
                "release_date": str(album_object.get("release_date") or "")[:10],
                "image_url": str(images[0].get("url") or "")[:500] if images else "",
            },
        )
    external_ids = item.get("external_ids") if isinstance(item.get("external_ids"), Mapping) else {}
    duration = item.get("duration_ms")
    album_artists = []
    if album is not None and album_object is not None:
        for a in album_object.get("artists") or []:
            credit = str(a.get("name") or "").strip() if isinstance(a, Mapping) else ""
            if credit:
                credit_uri = str(a["uri"]) if a.get("uri") and not is_local else local_uri(credit)
                album_artists.append(CatalogEntry(uri=credit_uri, name=credit))
    return TrackEntry(
        uri=uri,
        name=name,
        duration_ms=int(duration) if isinstance(duration, int) and duration >= 0 else None,
        isrc=str((external_ids or {}).get("isrc") or "")[:12],
        album=album,
        artists=artists,
        album_artists=album_artists or artists[:1],
    )


def catalog_upsert(entries: Iterable[TrackEntry]) -> dict[str, int]:
    """Insert or refresh the tracks with their albums and artists in a few bulk statements.

    Returns track ids by URI. Names and details are refreshed from the newest data, since Spotify
    renames and re-dates things now and then.
    """
    tracks = {entry.uri: entry for entry in entries}
    if not tracks:
        return {}
    artists = {a.uri: a for t in tracks.values() for a in (*t.artists, *t.album_artists)}
    albums = {t.album.uri: t.album for t in tracks.values() if t.album is not None}
    Artist.objects.bulk_create(
        [Artist(uri=a.uri, name=a.name[:500]) for a in artists.values()],
        update_conflicts=True,
        unique_fields=["uri"],
        update_fields=["name"],
    )
    Album.objects.bulk_create(
        [Album(uri=a.uri, name=a.name[:500], **a.extra) for a in albums.values()],
        update_conflicts=True,
        unique_fields=["uri"],
        update_fields=["name", "release_date", "image_url"],
    )
    album_ids = dict(Album.objects.filter(uri__in=albums).values_list("uri", "pk"))
    Track.objects.bulk_create(
        [
            Track(
                uri=t.uri,
                name=t.name[:500],
                duration_ms=t.duration_ms,
                isrc=t.isrc,
                album_id=album_ids.get(t.album.uri) if t.album else None,
            )
            for t in tracks.values()
        ],
        update_conflicts=True,
        unique_fields=["uri"],
        update_fields=["name", "duration_ms", "isrc", "album"],
    )
    track_ids: dict[str, int] = dict(Track.objects.filter(uri__in=tracks).values_list("uri", "pk"))
    artist_ids = dict(Artist.objects.filter(uri__in=artists).values_list("uri", "pk"))
    TrackArtist.objects.bulk_create(
        [
            TrackArtist(track_id=track_ids[t.uri], artist_id=artist_ids[a.uri], position=position)
            for t in tracks.values()
            for position, a in enumerate(t.artists)
        ],
        ignore_conflicts=True,
    )
    album_artists = [
        Album.artists.through(album_id=album_ids[t.album.uri], artist_id=artist_ids[a.uri])
        for t in tracks.values()
        if t.album is not None
        for a in t.album_artists
    ]
    Album.artists.through.objects.bulk_create(album_artists, ignore_conflicts=True)
    return track_ids
