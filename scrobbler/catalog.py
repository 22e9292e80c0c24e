"""The catalog: artists, albums and tracks keyed by Spotify URI or a deterministic local id, and
merging a `local:` track into the Spotify track it turns out to be."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Field, ForeignKey, ForeignObjectRel, Model
from django.dispatch import Signal

from scrobbler.models import Album, Artist, Play, Track, TrackArtist
from scrobbler.rollups import rollups_mark_tracks
from scrobbler.sql import json_values_sql


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


def name_key(entry: TrackEntry) -> str:
    """The id an export without URIs gives this track: `local:<sha1(first artist|title)>`."""
    return local_uri(entry.artists[0].name if entry.artists else "", entry.name)


def ids_by_uri(
    model: type[Artist] | type[Album] | type[Track], uris: Iterable[str]
) -> dict[str, int]:
    return dict(rows_where_in(model, "uri", uris, "uri", "id"))


def rows_where_in(
    model: type[Model], field: str, values: Iterable[str], *columns: str
) -> list[tuple[Any, ...]]:
    """`columns` of the rows whose `field` is one of `values`, however many: the values go in as
    one JSON parameter, not tens of thousands of placeholders."""
    values = list(values)
    if not values:
        return []
    q = connection.ops.quote_name
    # Quoted names of our own tables and columns; the values are a parameter.
    sql = (
        f"SELECT {', '.join(map(q, columns))} FROM {q(model._meta.db_table)} "  # noqa: S608
        f"WHERE {q(field)} IN ({json_values_sql()})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(values)])
        return cursor.fetchall()


def _insert(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    unique: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert rows, skipping (or with `update`, refreshing) those whose `unique` columns exist.

    One statement whatever the number of rows, which go in as one JSON parameter: bulk_create
    spends ~50 µs per row building model instances and statements, seconds for the tens of
    thousands of tracks a big history holds."""
    rows = list(rows)
    if not rows:
        return
    q = connection.ops.quote_name
    if connection.vendor == "postgresql":
        fields = [model._meta.get_field(c.removesuffix("_id")) for c in columns]
        values = ", ".join(
            f"(row->>{i})::{cast(Field[Any, Any], field).db_type(connection)}"
            for i, field in enumerate(fields)
        )
        source = f"SELECT {values} FROM jsonb_array_elements(%s::jsonb) AS row"  # noqa: S608
    else:
        values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
        # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
        source = f"SELECT {values} FROM json_each(%s) WHERE true"  # noqa: S608
    on_conflict = (
        "DO UPDATE SET " + ", ".join(f"{q(c)} = excluded.{q(c)}" for c in update)
        if update
        else "DO NOTHING"
    )
    # Quoted names of our own tables and columns; the values are a parameter.
    sql = (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(map(q, columns))}) {source} "
        f"ON CONFLICT ({', '.join(map(q, unique))}) {on_conflict}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows)])


def catalog_upsert(entries: Iterable[TrackEntry], *, refresh: bool = True) -> dict[str, int]:
    """Insert or refresh the tracks with their albums and artists in a few bulk statements.

    Returns track ids by URI. With `refresh`, names and details are refreshed from the newest data,
    since Spotify renames and re-dates things now and then, and credits by name (from exports) give
    way to real artists. Without it (exports, which know only names), existing rows are kept as
    they are. Either way a `local:` track that turns out to be this Spotify track is merged into it.
    """
    tracks = {entry.uri: entry for entry in entries}
    if not tracks:
        return {}
    artists = {a.uri: a for t in tracks.values() for a in (*t.artists, *t.album_artists)}
    albums = {t.album.uri: t.album for t in tracks.values() if t.album is not None}
    _insert(
        Artist,
        ["uri", "name", "image_url"],
        [(a.uri, a.name[:500], "") for a in artists.values()],
        unique=["uri"],
        update=["name"] if refresh else (),
    )
    _insert(
        Album,
        ["uri", "name", "release_date", "image_url"],
        [
            (a.uri, a.name[:500], a.extra.get("release_date", ""), a.extra.get("image_url", ""))
            for a in albums.values()
        ],
        unique=["uri"],
        update=["name", "release_date", "image_url"] if refresh else (),
    )
    album_ids = ids_by_uri(Album, albums)
    # Tracks whose album changes (an export's album by name giving way to the real one):
    # the dashboard's album totals count their plays elsewhere now.
    new_album = {uri: album_ids[t.album.uri] for uri, t in tracks.items() if t.album is not None}
    recredited = [
        track_id
        for uri, track_id, album_id in rows_where_in(
            Track, "uri", new_album if refresh else [], "uri", "id", "album_id"
        )
        if album_id != new_album[uri]
    ]
    _insert(
        Track,
        ["uri", "name", "duration_ms", "isrc", "album_id", "name_key"],
        [
            (
                t.uri,
                t.name[:500],
                t.duration_ms,
                t.isrc,
                album_ids.get(t.album.uri) if t.album else None,
                name_key(t),
            )
            for t in tracks.values()
        ],
        unique=["uri"],
        update=["name", "duration_ms", "isrc", "album_id", "name_key"] if refresh else (),
    )
    track_ids = ids_by_uri(Track, tracks)
    artist_ids = ids_by_uri(Artist, artists)
    if refresh:
        # Credits by name, from an export, give way once the real artists are known.
        real = [track_ids[t.uri] for t in tracks.values() if not t.uri.startswith("local:")]
        by_name = TrackArtist.objects.filter(track_id__in=real, artist__uri__startswith="local:")
        recredited.extend(by_name.values_list("track_id", flat=True).distinct())
        by_name.delete()
        rollups_mark_tracks(recredited)
    _insert(
        TrackArtist,
        ["track_id", "artist_id", "position"],
        [
            (track_ids[t.uri], artist_ids[a.uri], position)
            for t in tracks.values()
            for position, a in enumerate(t.artists)
        ],
        unique=["track_id", "artist_id"],
    )
    _insert(
        Album.artists.through,
        ["album_id", "artist_id"],
        {
            (album_ids[t.album.uri], artist_ids[a.uri])
            for t in tracks.values()
            if t.album is not None
            for a in t.album_artists
        },
        unique=["album_id", "artist_id"],
    )
    catalog_merge_tracks(local_aliases(tracks.values(), track_ids))
    return track_ids


def local_aliases(entries: Iterable[TrackEntry], track_ids: Mapping[str, int]) -> dict[int, int]:
    """{id of a stored `local:` track: id of the Spotify track it turns out to be}, for Spotify
    tracks among the entries whose name key is a stored local track."""
    real_by_key = {name_key(e): track_ids[e.uri] for e in entries if not e.uri.startswith("local:")}
    return {
        local_id: real_by_key[uri]
        for uri, local_id in ids_by_uri(Track, real_by_key).items()
        if local_id != real_by_key[uri]
    }


# Sent by catalog_merge_tracks inside its transaction, before any row moves, with `aliases`
# ({local track id: id of the track it is merged into}). Rooms above the catalog whose rows point
# at tracks connect to it to do their part (playback: a new revision and an event for each
# session the merge touches), since the catalog may not import them.
tracks_merging = Signal()


def track_relations() -> list[ForeignKey[Any, Any]]:
    """Every foreign key to Track, in whichever app: found from Track's side, hidden ones
    (`related_name="+"`) included; a many-to-many relation is its through table's key."""
    return [
        cast(ForeignKey[Any, Any], rel.field)
        for rel in Track._meta.get_fields(include_hidden=True)
        if isinstance(rel, ForeignObjectRel) and not rel.many_to_many
    ]


@transaction.atomic
def catalog_merge_tracks(aliases: Mapping[int, int]) -> None:
    """Merge `local:` tracks into the Spotify tracks they turned out to be ({local id: real id}):
    every row pointing at a local track points at the real one instead, and the local tracks are
    deleted. Plays keep the listen dedupe (plays_merge_tracks); a row whose move would break a
    unique constraint is dropped (a like of both tracks stays one like); the local tracks' credits
    go, the real ones having their own."""
    # Here, not at the top: plays.py stores plays into the catalog, so it imports this module.
    from scrobbler.plays import plays_merge_tracks

    if not aliases:
        return
    # Before anything moves: a receiver can still tell its rows the merge touches (those pointing
    # at a local track) from those already on the real one, and locks them as its own writers do.
    tracks_merging.send(sender=Track, aliases=aliases)
    for key in track_relations():
        if key.model is Play:
            plays_merge_tracks(aliases)
        elif key.model is TrackArtist:
            TrackArtist.objects.filter(track_id__in=aliases).delete()
        else:
            _repoint(key, aliases)
    # Nothing points at them any more; PROTECT (plays, library files) would say if something did.
    Track.objects.filter(pk__in=aliases).delete()


def _repoint(key: ForeignKey[Any, Any], aliases: Mapping[int, int]) -> None:
    """Point `key`'s rows at the local tracks at the real ones; a row that would then equal one
    of the real track's (or one moved before it) on a unique constraint is deleted instead."""
    rows = key.model._base_manager.all()
    uniques = _unique_with(key)
    columns = sorted({name for others in uniques for name in others})
    wanted = [*aliases, *aliases.values()] if uniques else [*aliases]
    found = rows.filter(**{f"{key.attname}__in": wanted}).values_list("pk", key.attname, *columns)
    taken: set[tuple[Any, ...]] = set()
    moving: set[int] = set()
    dropped: list[Any] = []
    # The real tracks' own rows first, which stay as they are; then the local tracks' in turn.
    for pk, track_id, *values in sorted(found, key=lambda row: (row[1] in aliases, row[0])):
        value = dict(zip(columns, values, strict=True))
        real = aliases.get(track_id, track_id)
        keys = {(i, real, *(value[n] for n in others)) for i, others in enumerate(uniques)}
        keys = {k for k in keys if None not in k}  # NULLs never clash
        if track_id in aliases and keys & taken:
            dropped.append(pk)
            continue
        taken |= keys
        if track_id in aliases:
            moving.add(track_id)
    rows.filter(pk__in=dropped).delete()
    for local_id in moving:
        rows.filter(**{key.attname: local_id}).update(**{key.attname: aliases[local_id]})


def _unique_with(key: ForeignKey[Any, Any]) -> list[list[str]]:
    """The other fields of each unique field set of `key`'s model that includes `key`."""
    meta = key.model._meta
    sets = [tuple(c.fields) for c in meta.total_unique_constraints]
    sets += [tuple(fields) for fields in meta.unique_together]
    if key.unique:
        sets.append((key.name,))
    own = {key.name, key.attname}
    return [[name for name in fields if name not in own] for fields in sets if own & set(fields)]
