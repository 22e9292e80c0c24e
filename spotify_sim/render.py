"""Spotify-shaped JSON for catalog objects, following the public OpenAPI schemas.

``api`` is the base URL of the Web API being served (``https://host/spotify-sim/v1``, no trailing
slash): ``href`` and paging links point there, so clients can follow them. Deprecated fields are
left out unless the schema requires them (albums' ``available_markets``, ``genres``, ``label``,
``popularity``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from spotify_sim.catalog import (
    MARKETS,
    Album,
    Artist,
    Catalog,
    Episode,
    Image,
    LocalTrack,
    Playlist,
    Show,
    Track,
)
from spotify_sim.timeline import Device, PlaybackState, Segment
from spotify_sim.times import iso_s

JSON = dict[str, Any]
OPEN = "https://open.spotify.com"


def images_json(images: Sequence[Image], api: str) -> list[JSON]:
    """The simulator serves its own images (spotify_sim.images), beside ``api``."""
    root = api.removesuffix("/v1")
    return [
        {"url": f"{root}/{image.url}", "height": image.height, "width": image.width}
        for image in images
    ]


def paging_json(
    url: str, items: list[JSON], *, total: int, limit: int, offset: int, **query: str
) -> JSON:
    """A PagingObject; ``url`` is the endpoint without query, ``query`` extra parameters."""

    def page(at: int) -> str:
        return f"{url}?{urlencode({**query, 'offset': at, 'limit': limit})}"

    return {
        "href": page(offset),
        "items": items,
        "limit": limit,
        "next": page(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": page(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def simplified_artist_json(artist: Artist, api: str) -> JSON:
    return {
        "external_urls": {"spotify": f"{OPEN}/artist/{artist.id}"},
        "href": f"{api}/artists/{artist.id}",
        "id": artist.id,
        "name": artist.name,
        "type": "artist",
        "uri": artist.uri,
    }


def artist_json(artist: Artist, api: str) -> JSON:
    return {**simplified_artist_json(artist, api), "images": images_json(artist.images, api)}


def simplified_album_json(catalog: Catalog, album: Album, api: str) -> JSON:
    return {
        "album_type": album.album_type,
        "total_tracks": len(album.track_ids),
        "available_markets": list(MARKETS),
        "external_urls": {"spotify": f"{OPEN}/album/{album.id}"},
        "href": f"{api}/albums/{album.id}",
        "id": album.id,
        "images": images_json(album.images, api),
        "name": album.name,
        "release_date": album.release_date,
        "release_date_precision": album.release_date_precision,
        "type": "album",
        "uri": album.uri,
        "artists": [simplified_artist_json(catalog.artists[a], api) for a in album.artist_ids],
    }


def album_tracks_json(catalog: Catalog, album: Album, api: str, *, limit: int, offset: int) -> JSON:
    """The album's tracks as a PagingSimplifiedTrackObject."""
    page = album.track_ids[offset : offset + limit]
    items = [simplified_track_json(catalog, catalog.tracks[t], api) for t in page]
    url = f"{api}/albums/{album.id}/tracks"
    return paging_json(url, items, total=len(album.track_ids), limit=limit, offset=offset)


def album_json(catalog: Catalog, album: Album, api: str) -> JSON:
    return {
        **simplified_album_json(catalog, album, api),
        "tracks": album_tracks_json(catalog, album, api, limit=50, offset=0),
        "copyrights": [
            {"text": f"{album.release_date[:4]} {album.label}", "type": "C"},
            {"text": f"{album.release_date[:4]} {album.label}", "type": "P"},
        ],
        "external_ids": {"upc": album.upc},
        "genres": [],
        "label": album.label,
        "popularity": album.popularity,
    }


def simplified_track_json(catalog: Catalog, track: Track, api: str) -> JSON:
    return {
        "artists": [simplified_artist_json(catalog.artists[a], api) for a in track.artist_ids],
        "disc_number": track.disc_number,
        "duration_ms": track.duration_ms,
        "explicit": track.explicit,
        "external_urls": {"spotify": f"{OPEN}/track/{track.id}"},
        "href": f"{api}/tracks/{track.id}",
        "id": track.id,
        "is_playable": True,
        "name": track.name,
        "track_number": track.track_number,
        "type": "track",
        "uri": track.uri,
        "is_local": False,
    }


def track_json(catalog: Catalog, track: Track, api: str) -> JSON:
    album = catalog.albums[track.album_id]
    return {
        "album": simplified_album_json(catalog, album, api),
        **simplified_track_json(catalog, track, api),
        "external_ids": {"isrc": track.isrc},
    }


def local_track_json(local: LocalTrack) -> JSON:
    """A local file as Spotify returns it: null ids and links, ``is_local: true``."""
    return {
        "album": {
            "album_type": None,
            "total_tracks": None,
            "available_markets": [],
            "external_urls": {},
            "href": None,
            "id": None,
            "images": [],
            "name": local.album,
            "release_date": None,
            "release_date_precision": None,
            "type": "album",
            "uri": None,
            "artists": [],
        },
        "artists": [
            {
                "external_urls": {},
                "href": None,
                "id": None,
                "name": local.artist,
                "type": "artist",
                "uri": None,
            }
        ],
        "disc_number": 0,
        "duration_ms": local.duration_ms,
        "explicit": False,
        "external_ids": {},
        "external_urls": {},
        "href": None,
        "id": None,
        "is_playable": True,
        "name": local.title,
        "track_number": 0,
        "type": "track",
        "uri": local.uri,
        "is_local": True,
    }


def simplified_show_json(show: Show, api: str) -> JSON:
    return {
        "available_markets": list(MARKETS),
        "copyrights": [],
        "description": show.description,
        "html_description": f"<p>{show.description}</p>",
        "explicit": False,
        "external_urls": {"spotify": f"{OPEN}/show/{show.id}"},
        "href": f"{api}/shows/{show.id}",
        "id": show.id,
        "images": images_json(show.images, api),
        "is_externally_hosted": False,
        "languages": ["en"],
        "media_type": "audio",
        "name": show.name,
        "publisher": show.publisher,
        "type": "show",
        "uri": show.uri,
        "total_episodes": len(show.episode_ids),
    }


def episode_json(catalog: Catalog, episode: Episode, api: str) -> JSON:
    show = catalog.shows[episode.show_id]
    return {
        "audio_preview_url": None,
        "description": episode.description,
        "html_description": f"<p>{episode.description}</p>",
        "duration_ms": episode.duration_ms,
        "explicit": episode.explicit,
        "external_urls": {"spotify": f"{OPEN}/episode/{episode.id}"},
        "href": f"{api}/episodes/{episode.id}",
        "id": episode.id,
        "images": images_json(show.images, api),
        "is_externally_hosted": False,
        "is_playable": True,
        "languages": ["en"],
        "name": episode.name,
        "release_date": episode.release_date,
        "release_date_precision": "day",
        "type": "episode",
        "uri": episode.uri,
        "show": simplified_show_json(show, api),
    }


def item_json(catalog: Catalog, uri: str, api: str) -> JSON | None:
    """The TrackObject or EpisodeObject of a track, local-file or episode URI (None if unknown)."""
    kind, _, key = uri.partition(":")[2].partition(":")
    if kind == "track" and (track := catalog.tracks.get(key)):
        return track_json(catalog, track, api)
    if kind == "episode" and (episode := catalog.episodes.get(key)):
        return episode_json(catalog, episode, api)
    if kind == "local" and (local := catalog.local_tracks.get(uri)):
        return local_track_json(local)
    return None


def context_json(uri: str | None, api: str) -> JSON | None:
    """A ContextObject for an album, playlist, artist or show URI."""
    if uri is None:
        return None
    kind, _, key = uri.partition(":")[2].partition(":")
    return {
        "type": kind,
        "href": f"{api}/{kind}s/{key}",
        "external_urls": {"spotify": f"{OPEN}/{kind}/{key}"},
        "uri": uri,
    }


def user_ref_json(user_id: str, api: str, display_name: str | None = None) -> JSON:
    """A PlaylistUserObject (with ``display_name``: a PlaylistOwnerObject)."""
    body: JSON = {
        "external_urls": {"spotify": f"{OPEN}/user/{user_id}"},
        "href": f"{api}/users/{user_id}",
        "id": user_id,
        "type": "user",
        "uri": f"spotify:user:{user_id}",
    }
    if display_name is not None:
        body["display_name"] = display_name
    return body


def simplified_playlist_json(playlist: Playlist, owner_id: str, owner_name: str, api: str) -> JSON:
    return {
        "collaborative": playlist.collaborative,
        "description": playlist.description,
        "external_urls": {"spotify": f"{OPEN}/playlist/{playlist.id}"},
        "href": f"{api}/playlists/{playlist.id}",
        "id": playlist.id,
        "images": images_json(playlist.images, api),
        "name": playlist.name,
        "owner": user_ref_json(owner_id, api, owner_name),
        "public": playlist.public,
        "snapshot_id": playlist.snapshot_id,
        "items": {
            "href": f"{api}/playlists/{playlist.id}/items",
            "total": len(playlist.item_uris),
        },
        "type": "playlist",
        "uri": playlist.uri,
    }


def playlist_items_json(
    catalog: Catalog, playlist: Playlist, owner_id: str, api: str, *, limit: int, offset: int
) -> JSON:
    """The playlist's items as a PagingPlaylistTrackObject (``item`` holds the track)."""
    items = []
    for index in range(offset, min(offset + limit, len(playlist.item_uris))):
        uri = playlist.item_uris[index]
        items.append(
            {
                "added_at": iso_s(playlist.added_at_ms[index]),
                "added_by": user_ref_json(owner_id, api),
                "is_local": uri.startswith("spotify:local:"),
                "item": item_json(catalog, uri, api),
            }
        )
    url = f"{api}/playlists/{playlist.id}/items"
    return paging_json(url, items, total=len(playlist.item_uris), limit=limit, offset=offset)


def device_json(device: Device, *, private: bool) -> JSON:
    return {
        "id": device.id,
        "is_active": True,
        "is_private_session": private,
        "is_restricted": False,
        "name": device.name,
        "type": device.type,
        "volume_percent": device.volume_percent,
        "supports_volume": True,
    }


def actions_json(segment: Segment) -> JSON:
    """A DisallowsObject (true: not allowed now), plus the ``disallows`` map that Spotify's
    servers actually send, listing only what is disallowed."""
    ad = segment.kind == "ad"
    disallows = {
        "interrupting_playback": False,
        "pausing": not segment.is_playing,
        "resuming": segment.is_playing,
        "seeking": ad,
        "skipping_next": ad,
        "skipping_prev": ad,
        "toggling_repeat_context": ad,
        "toggling_shuffle": ad,
        "toggling_repeat_track": ad,
        "transferring_playback": False,
    }
    return {**disallows, "disallows": {key: True for key, value in disallows.items() if value}}


_PLAYING_TYPES = {"track": "track", "local": "track", "episode": "episode", "ad": "ad"}


def playback_json(
    catalog: Catalog, state: PlaybackState, api: str, *, with_device: bool, episodes: bool
) -> JSON:
    """The body of currently-playing (``with_device`` False: a CurrentlyPlayingObject) or of
    /me/player (a CurrentlyPlayingContextObject). ``item`` is null for ads, for the short
    "unknown" state of a device switch (whose progress is null too), and for episodes unless
    ``episodes`` (``additional_types=episode``)."""
    segment = state.segment
    kind = segment.kind
    item = None
    if segment.uri is not None and (kind != "episode" or episodes):
        item = item_json(catalog, segment.uri, api)
    body: JSON = {
        "timestamp": state.timestamp_ms,
        "context": None if kind == "ad" else context_json(segment.context_uri, api),
        "progress_ms": None if kind == "unknown" else state.progress_ms,
        "item": item,
        "currently_playing_type": _PLAYING_TYPES.get(kind, "unknown"),
        "actions": actions_json(segment),
        "is_playing": segment.is_playing,
        "shuffle_state": segment.shuffle,
        "repeat_state": segment.repeat,
    }
    if with_device and segment.device is not None:
        body = {"device": device_json(segment.device, private=segment.private), **body}
    return body
