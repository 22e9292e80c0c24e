"""Browsing the library: albums with their tracks, artists with their albums, and a search over
tracks by title, artist and album. Selectors only; each runs a fixed number of queries whatever
the number of rows (the browse tests count them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from playback.models import LibraryFile
from playback.queue import ALBUM_ORDER
from scrobbler.models import Album, Artist, Track, TrackArtist

# Words of a search that count (the rest of a pasted paragraph is ignored).
SEARCH_WORDS = 8


@dataclass(frozen=True)
class LibraryTrack:
    """A track of the library as a list shows it, with its place on its album."""

    track: Track
    disc_number: int | None = None
    track_number: int | None = None

    @property
    def clock(self) -> str:
        """The track's length as a player shows it: "3:07", "1:02:09"; "" if unknown."""
        if self.track.duration_ms is None:
            return ""
        minutes, seconds = divmod(round(self.track.duration_ms / 1000), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@dataclass(frozen=True)
class AlbumDetail:
    album: Album
    tracks: list[LibraryTrack]
    cover_key: str

    @property
    def duration_ms(self) -> int:
        return sum(row.track.duration_ms or 0 for row in self.tracks)

    @property
    def track_ids(self) -> list[int]:
        return [row.track.pk for row in self.tracks]


def _playable_files() -> QuerySet[LibraryFile]:
    return LibraryFile.objects.filter(error="", track__isnull=False)


def _with_artists(tracks: QuerySet[Track]) -> QuerySet[Track]:
    """Tracks with their album and their artists in credit order (two queries in all)."""
    credited = Artist.objects.order_by("trackartist__position", "pk")
    return tracks.select_related("album").prefetch_related(Prefetch("artists", queryset=credited))


def _tracks_in_order(files: Iterable[tuple[int, int | None, int | None]]) -> list[LibraryTrack]:
    """One row per track, in the order of its first file (a track with two files shows once)."""
    places: dict[int, tuple[int | None, int | None]] = {}
    for track_id, disc, number in files:
        places.setdefault(track_id, (disc, number))
    found = _with_artists(Track.objects.all()).in_bulk(list(places))
    return [
        LibraryTrack(track=found[track_id], disc_number=disc, track_number=number)
        for track_id, (disc, number) in places.items()
        if track_id in found
    ]


def album_detail(*, album_id: int) -> AlbumDetail | None:
    """An album with its playable tracks in disc and track order (the order "Play album"
    queues them in, playback.queue.library_tracks); None if there is no such album."""
    album = Album.objects.prefetch_related("artists").filter(pk=album_id).first()
    if album is None:
        return None
    files = list(
        _playable_files()
        .filter(track__album_id=album_id)
        .order_by(*ALBUM_ORDER)
        .values_list("track_id", "disc_number", "track_number", "cover_key")
    )
    cover_key = next((key for *_, key in files if key), "")
    tracks = _tracks_in_order((track, disc, number) for track, disc, number, _ in files)
    return AlbumDetail(album=album, tracks=tracks, cover_key=cover_key)


def library_artists() -> QuerySet[Artist]:
    """Artists credited on playable tracks, by name, with `album_count` and `track_count` (of
    the library's tracks only)."""
    return (
        Artist.objects.filter(tracks__library_files__error="")
        .annotate(
            album_count=Count("tracks__album", distinct=True),
            track_count=Count("tracks", distinct=True),
        )
        .order_by(Lower("name"), "pk")
    )


def artist_albums(*, artist_id: int) -> QuerySet[Album]:
    """Albums with playable tracks of the artist, oldest first, with `track_count` (the
    artist's tracks on it) and a `cover_key` of one of its files."""
    return (
        Album.objects.filter(tracks__artists__id=artist_id, tracks__library_files__error="")
        .annotate(
            track_count=Count("tracks", distinct=True),
            cover_key=Max("tracks__library_files__cover_key"),
        )
        .order_by("release_date", Lower("name"), "pk")
    )


def artist_loose_tracks(*, artist_id: int) -> list[LibraryTrack]:
    """The artist's playable tracks that belong to no album, by title."""
    files = (
        _playable_files()
        .filter(track__artists__id=artist_id, track__album__isnull=True)
        .order_by(Lower("track__name"), "track_id")
        .values_list("track_id", "disc_number", "track_number")
    )
    return _tracks_in_order(files)


def library_track_search(query: str) -> QuerySet[Track]:
    """Playable tracks whose title, artist or album holds every word of `query` (each word in
    any of them), by title, with album and artists; every playable track if `query` is blank."""
    tracks = Track.objects.filter(pk__in=_playable_files().values("track_id"))
    for word in query.split()[:SEARCH_WORDS]:
        by_artist = TrackArtist.objects.filter(artist__name__icontains=word).values("track_id")
        tracks = tracks.filter(
            Q(name__icontains=word) | Q(album__name__icontains=word) | Q(pk__in=by_artist)
        )
    return _with_artists(tracks.order_by(Lower("name"), "pk"))
