"""A deterministic music catalog: artists, albums, tracks, local files, shows and episodes.

Everything is derived from a seed with ``random.Random(str)`` (which hashes strings with SHA-512,
so every process and every run computes the same catalog). Ids look like Spotify's: 22 base-62
characters.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal
from urllib.parse import quote_plus

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_RE = re.compile(r"[0-9A-Za-z]{22}")

AlbumType = Literal["album", "single", "compilation"]
DatePrecision = Literal["year", "month", "day"]

_ADJECTIVES = (
    "Silver", "Quiet", "Electric", "Golden", "Hollow", "Velvet", "Broken", "Northern", "Paper",
    "Crimson", "Distant", "Wild", "Static", "Lunar", "Neon", "Gentle", "Restless", "Amber",
    "Midnight", "Frozen", "Burning", "Lost", "Secret", "Endless", "Pale", "Sleepless", "Blue",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Garden", "Signal", "River", "Engine", "Mirror", "Forest", "Canyon", "Satellite",
    "Lantern", "Ocean", "Highway", "Echo", "Window", "Orchard", "Desert", "Thunder", "Feather",
    "Compass", "Island", "Winter", "Circuit", "Meadow", "Tide", "Horizon", "Ember", "Parade",
)  # fmt: skip
_FIRST = (
    "Ada", "Nils", "Maya", "Tomas", "Lena", "Kofi", "Ines", "Ravi", "Yuki", "Otto", "Zara",
    "Elio", "Freja", "Jonas", "Amara", "Luca", "Mira", "Sami", "Noor", "Theo",
)  # fmt: skip
_LAST = (
    "Lindqvist", "Moreau", "Okafor", "Tanaka", "Rossi", "Novak", "Haddad", "Silva", "Berg",
    "Kowalski", "Duarte", "Nakamura", "Fischer", "Mensah", "Larsen", "Costa",
)  # fmt: skip
_TITLE_FORMS = (
    "{adj} {noun}", "The {noun}", "{noun} Song", "{adj} Days", "Into the {noun}",
    "{noun} (Reprise)", "After the {noun}", "{adj} {noun} - Live", "{noun}, {noun2}", "{adj}",
)  # fmt: skip
_GENRES = (
    "indie pop", "post-rock", "synthwave", "dream pop", "folk", "jazz", "ambient", "techno",
    "shoegaze", "soul", "hip hop", "art rock", "bossa nova", "chamber pop",
)  # fmt: skip
_LABELS = ("Harbor Records", "Quiet Tide", "Northern Lights Music", "Paper Moon", "Static Sound")
_COUNTRIES = ("US", "GB", "SE", "DE", "FR", "NL", "CA", "AU", "JP", "BR")
MARKETS = ("US", "GB", "SE", "DE", "FR")


def is_spotify_id(value: str) -> bool:
    """True when ``value`` has the shape of a Spotify id (22 base-62 characters)."""
    return ID_RE.fullmatch(value) is not None


def random_id(rng: random.Random) -> str:
    return "".join(rng.choice(BASE62) for _ in range(22))


def stable_hex(*parts: object, length: int = 24) -> str:
    """A hex digest of ``parts`` that is the same in every process."""
    data = "\x1f".join(str(part) for part in parts).encode()
    return hashlib.blake2b(data, digest_size=32).hexdigest()[:length]


def stable_unit(*parts: object) -> float:
    """A number in [0, 1) derived from ``parts``, the same in every process."""
    return int(stable_hex(*parts, length=13), 16) / 16**13


@dataclass(frozen=True, slots=True)
class Image:
    """``url`` is relative to the simulator's root (``images/<kind>/<id>/<size>.jpg``, served by
    spotify_sim.images); render.images_json makes it absolute."""

    url: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Artist:
    id: str
    name: str
    genres: tuple[str, ...]
    popularity: int
    followers: int

    @property
    def uri(self) -> str:
        return f"spotify:artist:{self.id}"

    @property
    def images(self) -> tuple[Image, ...]:
        return _images("artist", self.id)


@dataclass(frozen=True, slots=True)
class Album:
    id: str
    name: str
    artist_ids: tuple[str, ...]
    album_type: AlbumType
    release_date: str
    release_date_precision: DatePrecision
    label: str
    upc: str
    popularity: int
    track_ids: tuple[str, ...]

    @property
    def uri(self) -> str:
        return f"spotify:album:{self.id}"

    @property
    def images(self) -> tuple[Image, ...]:
        return _images("album", self.id)


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    name: str
    album_id: str
    artist_ids: tuple[str, ...]
    duration_ms: int
    disc_number: int
    track_number: int
    explicit: bool
    isrc: str
    popularity: int

    @property
    def uri(self) -> str:
        return f"spotify:track:{self.id}"


@dataclass(frozen=True, slots=True)
class LocalTrack:
    """A file from the user's own library: no id, a ``spotify:local:`` URI with the duration in s."""

    artist: str
    album: str
    title: str
    duration_ms: int

    @property
    def uri(self) -> str:
        parts = (quote_plus(self.artist), quote_plus(self.album), quote_plus(self.title))
        return f"spotify:local:{':'.join(parts)}:{self.duration_ms // 1000}"


@dataclass(frozen=True, slots=True)
class Show:
    id: str
    name: str
    publisher: str
    description: str
    episode_ids: tuple[str, ...]

    @property
    def uri(self) -> str:
        return f"spotify:show:{self.id}"

    @property
    def images(self) -> tuple[Image, ...]:
        return _images("show", self.id)


@dataclass(frozen=True, slots=True)
class Episode:
    id: str
    name: str
    show_id: str
    duration_ms: int
    release_date: str
    description: str
    explicit: bool

    @property
    def uri(self) -> str:
        return f"spotify:episode:{self.id}"


@dataclass(frozen=True, slots=True)
class Playlist:
    """A playlist's content; its owner is whoever it was generated for (see ``generate_playlists``)."""

    id: str
    name: str
    description: str
    public: bool
    collaborative: bool
    item_uris: tuple[str, ...]
    added_at_ms: tuple[int, ...]

    @property
    def uri(self) -> str:
        return f"spotify:playlist:{self.id}"

    @property
    def snapshot_id(self) -> str:
        return "AAAA" + stable_hex("snapshot", self.id, *self.item_uris, length=28)

    @property
    def images(self) -> tuple[Image, ...]:
        return (Image(f"images/playlist/{self.id}/640.jpg", 640, 640),)


@dataclass(frozen=True)
class Catalog:
    """An immutable catalog. Look-ups by id return None for unknown ids."""

    seed: str
    artists: Mapping[str, Artist]
    albums: Mapping[str, Album]
    tracks: Mapping[str, Track]
    shows: Mapping[str, Show]
    episodes: Mapping[str, Episode]
    local_tracks: Mapping[str, LocalTrack]  # by URI
    track_ids: tuple[str, ...]  # generation order, for sampling

    def duration_of(self, uri: str) -> int | None:
        """The duration in ms of a track, local file or episode URI; None when unknown."""
        kind, _, key = uri.partition(":")[2].partition(":")
        if kind == "track" and (track := self.tracks.get(key)):
            return track.duration_ms
        if kind == "episode" and (episode := self.episodes.get(key)):
            return episode.duration_ms
        if kind == "local" and (local := self.local_tracks.get(uri)):
            return local.duration_ms
        return None


IMAGE_KINDS = ("artist", "album", "show", "playlist")
IMAGE_SIZES = (640, 300, 64)


def _images(kind: str, ident: str) -> tuple[Image, ...]:
    return tuple(Image(f"images/{kind}/{ident}/{size}.jpg", size, size) for size in IMAGE_SIZES)


def _title(rng: random.Random) -> str:
    form = rng.choice(_TITLE_FORMS)
    return form.format(
        adj=rng.choice(_ADJECTIVES), noun=rng.choice(_NOUNS), noun2=rng.choice(_NOUNS)
    )


def _artist_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    if roll < 0.7:
        return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}s"
    return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"


def _duration_ms(rng: random.Random) -> int:
    """Mostly 2:30-5:30, with short interludes (20-40 s) and long pieces (8-20 min)."""
    roll = rng.random()
    if roll < 0.06:
        return rng.randint(20_000, 40_000)
    if roll < 0.11:
        return rng.randint(480_000, 1_200_000)
    return rng.randint(150_000, 330_000)


def _release(rng: random.Random) -> tuple[str, DatePrecision]:
    year = rng.randint(1965, 2025)
    roll = rng.random()
    if roll < 0.1:
        return f"{year}", "year"
    month = rng.randint(1, 12)
    if roll < 0.2:
        return f"{year}-{month:02d}", "month"
    return f"{year}-{month:02d}-{rng.randint(1, 28):02d}", "day"


def _isrc(rng: random.Random, year: str) -> str:
    registrant = "".join(rng.choice(BASE62[:36]) for _ in range(3))
    return f"{rng.choice(_COUNTRIES)}{registrant}{year[2:4]}{rng.randint(0, 99_999):05d}"


def generate_catalog(seed: str = "encore", *, artist_count: int = 60) -> Catalog:
    """Generate a catalog from ``seed``: about 1,300 tracks, 20 local files, 32 episodes."""
    rng = random.Random(f"catalog:{seed}")
    artists: dict[str, Artist] = {}
    for _ in range(artist_count):
        genres = tuple(sorted(rng.sample(_GENRES, rng.randint(1, 3))))
        artist = Artist(
            random_id(rng),
            _artist_name(rng),
            genres,
            rng.randint(5, 95),
            rng.randint(100, 5_000_000),
        )
        artists[artist.id] = artist
    artist_ids = tuple(artists)
    albums: dict[str, Album] = {}
    tracks: dict[str, Track] = {}
    for artist_id in artist_ids:
        for _ in range(rng.randint(1, 4)):
            _generate_album(rng, artist_id, artist_ids, albums, tracks)
    shows, episodes = _generate_shows(rng)
    locals_ = (_local(rng) for _ in range(20))
    return Catalog(
        seed=seed,
        artists=artists,
        albums=albums,
        tracks=tracks,
        shows=shows,
        episodes=episodes,
        local_tracks={local.uri: local for local in locals_},
        track_ids=tuple(tracks),
    )


def _generate_album(
    rng: random.Random,
    artist_id: str,
    artist_ids: tuple[str, ...],
    albums: dict[str, Album],
    tracks: dict[str, Track],
) -> None:
    roll = rng.random()
    album_type: AlbumType = "single" if roll < 0.3 else "compilation" if roll < 0.36 else "album"
    count = rng.randint(1, 3) if album_type == "single" else rng.randint(8, 16)
    album_id = random_id(rng)
    date, precision = _release(rng)
    year = date[:4]
    album_artists: tuple[str, ...] = (artist_id,)
    if album_type == "compilation":
        album_artists = (artist_id, *rng.sample(artist_ids, 2))
    track_ids = []
    for number in range(count):
        disc, track_number = (
            (2, number - count // 2 + 1) if count > 13 and number >= count // 2 else (1, number + 1)
        )
        performers: tuple[str, ...] = (
            (rng.choice(album_artists),) if album_type == "compilation" else (artist_id,)
        )
        if rng.random() < 0.15:  # a featured artist
            performers = (*performers, rng.choice(artist_ids))
        track = Track(
            id=random_id(rng),
            name=_title(rng),
            album_id=album_id,
            artist_ids=tuple(dict.fromkeys(performers)),
            duration_ms=_duration_ms(rng),
            disc_number=disc,
            track_number=track_number,
            explicit=rng.random() < 0.12,
            isrc=_isrc(rng, year),
            popularity=rng.randint(0, 90),
        )
        tracks[track.id] = track
        track_ids.append(track.id)
    albums[album_id] = Album(
        id=album_id,
        name=_title(rng),
        artist_ids=album_artists,
        album_type=album_type,
        release_date=date,
        release_date_precision=precision,
        label=rng.choice(_LABELS),
        upc=f"{rng.randint(0, 10**12 - 1):012d}",
        popularity=rng.randint(0, 90),
        track_ids=tuple(track_ids),
    )


def _generate_shows(rng: random.Random) -> tuple[dict[str, Show], dict[str, Episode]]:
    shows: dict[str, Show] = {}
    episodes: dict[str, Episode] = {}
    for _ in range(4):
        show_id = random_id(rng)
        name = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} Podcast"
        ids = []
        for number in range(1, 9):
            date, _ = _release(rng)
            episode = Episode(
                id=random_id(rng),
                name=f"#{number}: {_title(rng)}",
                show_id=show_id,
                duration_ms=rng.randint(15 * 60_000, 90 * 60_000),
                release_date=date if len(date) == 10 else f"{date[:4]}-06-01",
                description=f"Episode {number} of {name}.",
                explicit=rng.random() < 0.1,
            )
            episodes[episode.id] = episode
            ids.append(episode.id)
        publisher = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        shows[show_id] = Show(show_id, name, publisher, f"Conversations from {name}.", tuple(ids))
    return shows, episodes


def _local(rng: random.Random) -> LocalTrack:
    # Punctuation and accents on purpose: local URIs are form-encoded.
    artist = rng.choice(("Zoë & The Tapes", "Ada Lindqvist", "Home Recordings", "Otto: Live"))
    album = rng.choice(("Demos 2019", "Bootleg: Vol. 2", "Untitled", "Café Sessions"))
    return LocalTrack(artist, album, _title(rng), rng.randint(25, 420) * 1000)


PLAYLISTS_EDITED_MS = 1_735_689_600_000  # 2025-01-01: items were added in the year before


def generate_playlists(catalog: Catalog, key: str) -> tuple[Playlist, ...]:
    """Playlists for the user identified by ``key``, drawn from a pool of that user's favourites.

    The first is "Favourites"; every third contains a local file.
    """
    rng = random.Random(f"playlists:{catalog.seed}:{key}")
    favourites = rng.sample(catalog.track_ids, min(150, len(catalog.track_ids)))
    local_uris = tuple(catalog.local_tracks)
    playlists = []
    for number in range(rng.randint(4, 9)):
        uris = rng.sample(favourites, rng.randint(8, 40))
        if number % 3 == 0:
            uris.insert(rng.randrange(len(uris)), rng.choice(local_uris))
        added = sorted(PLAYLISTS_EDITED_MS - rng.randint(0, 365 * 86_400_000) for _ in uris)
        playlists.append(
            Playlist(
                id=random_id(rng),
                name=_title(rng) if number else "Favourites",
                description=rng.choice(("", "Songs for the road.", "Late nights.")),
                public=rng.random() < 0.5,
                collaborative=False,
                item_uris=tuple(
                    uri if uri.startswith("spotify:") else f"spotify:track:{uri}" for uri in uris
                ),
                added_at_ms=tuple(ms - ms % 1000 for ms in added),
            )
        )
    return tuple(playlists)


@cache
def default_catalog() -> Catalog:
    """The catalog every simulated account shares (generated once per process)."""
    return generate_catalog()
