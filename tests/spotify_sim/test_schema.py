"""Response bodies follow the schemas of Spotify's public OpenAPI spec."""

from __future__ import annotations

from typing import Any

import pytest

from tests.spotify_sim.conftest import T0_MS, Sim
from tests.spotify_sim.openapi import declared, validate

HOUR_MS = 3_600_000


@pytest.fixture
def token(sim: Sim) -> str:
    profile = {"base": "mixed", "ad": 0.2, "episode": 0.2}
    sim.account("alice", seed="schema", profile=profile, start=T0_MS - 3 * HOUR_MS)
    return sim.token("alice", ttl_s=86_400)


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_me_is_a_private_user_object(sim: Sim, token: str) -> None:
    body = ok(sim.get("me", token))
    validate(body, "PrivateUserObject")
    assert set(body) <= declared("PrivateUserObject")


def test_catalog_objects_follow_their_schemas(sim: Sim, token: str) -> None:
    history = ok(sim.get("me/player/recently-played", token, limit=1))
    track = history["items"][0]["track"]
    full = ok(sim.get(f"tracks/{track['id']}", token))
    validate(full, "TrackObject")
    assert set(full) <= declared("TrackObject")
    assert {"album", "artists", "duration_ms", "external_ids", "is_local", "uri"} <= set(full)
    assert set(full["album"]) <= declared("SimplifiedAlbumObject")
    assert full["album"]["images"]
    assert full["album"]["release_date_precision"]
    album = ok(sim.get(f"albums/{full['album']['id']}", token))
    validate(album, "AlbumObject")
    assert set(album) <= declared("AlbumObject")
    assert track["id"] in [item["id"] for item in album["tracks"]["items"]]
    validate(
        ok(sim.get(f"albums/{album['id']}/tracks", token, limit=2)), "PagingSimplifiedTrackObject"
    )
    artist = ok(sim.get(f"artists/{full['artists'][0]['id']}", token))
    validate(artist, "ArtistObject")
    assert set(artist) <= declared("ArtistObject")


def test_playlists_and_their_items_follow_their_schemas(sim: Sim, token: str) -> None:
    page = ok(sim.get("me/playlists", token, limit=50))
    validate(page, "PagingPlaylistObject")
    assert all(set(item) <= declared("SimplifiedPlaylistObject") for item in page["items"])
    for playlist in page["items"]:
        items = ok(sim.get(f"playlists/{playlist['id']}/items", token, limit=50))
        tracks = [item for item in items["items"] if not item["is_local"]]
        validate({**items, "items": tracks}, "PagingPlaylistTrackObject")
        # Local files carry null ids and links, as Spotify's own responses do.
        for item in items["items"]:
            if item["is_local"]:
                assert item["item"]["id"] is None
                assert item["item"]["is_local"] is True


def test_playback_bodies_follow_their_schemas(sim: Sim, token: str) -> None:
    checked = set()
    start = T0_MS - 3 * HOUR_MS
    for segment in sim.segments("alice", start=start, end=start + 6 * HOUR_MS):
        kind = segment["kind"]
        # Idle and private sessions are 204; local files have the null ids Spotify gives them.
        if kind in checked or kind in ("idle", "local") or segment["private"]:
            continue
        sim.set_clock((segment["start_ms"] + segment["end_ms"]) // 2)
        current = ok(sim.get("me/player/currently-playing", token, additional_types="episode"))
        validate(current, "CurrentlyPlayingObject")
        player = ok(sim.get("me/player", token, additional_types="episode"))
        validate(player, "CurrentlyPlayingContextObject")
        assert set(player) - {"shuffle_state", "repeat_state"} <= declared(
            "CurrentlyPlayingObject"
        ) | {"device"}
        checked.add(kind)
    assert {"track", "episode", "ad"} <= checked


def test_recently_played_is_a_cursor_paging_play_history_object(sim: Sim, token: str) -> None:
    body = ok(sim.get("me/player/recently-played", token, limit=10))
    validate(body, "CursorPagingPlayHistoryObject")
    assert set(body["items"][0]) == {"track", "played_at", "context"}


@pytest.mark.parametrize(
    ("path", "use_token", "status"),
    [
        ("me", False, 401),
        ("tracks/not-an-id", True, 400),
        ("tracks/0000000000000000000000", True, 404),
        ("playlists/0000000000000000000000/items", True, 404),
        ("me/following", True, 404),
    ],
)
def test_errors_have_spotifys_error_object(
    sim: Sim, token: str, path: str, use_token: bool, status: int
) -> None:
    response = sim.get(path, token if use_token else None)
    assert response.status_code == status
    validate(response.json()["error"], "ErrorObject")
    assert response.json()["error"]["status"] == status
