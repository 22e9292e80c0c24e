"""spotipy, the client Encore uses, pointed at the simulator."""

from __future__ import annotations

import pytest
import spotipy

from tests.spotify_sim.conftest import T0_MS, Sim


def client(sim: Sim, token: str, **options: object) -> spotipy.Spotify:
    sp = spotipy.Spotify(auth=token, retries=0, status_retries=0, requests_timeout=10, **options)
    sp.prefix = sim.api + "/"
    return sp


def test_spotipy_reads_the_user_the_current_track_and_the_history(sim: Sim) -> None:
    sim.account("alice", seed="spotipy", profile="steady", start=T0_MS - 3 * 3_600_000)
    sp = client(sim, sim.token("alice"))
    assert sp.current_user()["id"] == "alice"
    history = sp.current_user_recently_played(limit=5)
    assert len(history["items"]) == 5
    older = sp.next(history)
    assert older["items"][0]["played_at"] < history["items"][-1]["played_at"]
    segment = sim.at_segment("alice", lambda s: s["kind"] == "track" and s["is_playing"])
    current = sp.current_user_playing_track()
    assert current["item"]["uri"] == segment["uri"]
    assert sp.track(current["item"]["id"])["name"] == current["item"]["name"]
    playlists = sp.current_user_playlists(limit=2)
    assert playlists["items"]
    assert sp.next(playlists)["offset"] == 2


def test_spotipy_gets_none_for_204_and_sees_retry_after_on_429(sim: Sim) -> None:
    sim.account("alice", start=T0_MS)
    sp = client(sim, sim.token("alice"))
    sim.fault(kind="no_content", endpoint="v1/me/player/currently-playing", count=1)
    assert sp.current_user_playing_track() is None
    sim.fault(kind="rate_limit", retry_after=42, count=1)
    with pytest.raises(spotipy.SpotifyException) as raised:
        sp.current_user_recently_played()
    assert raised.value.http_status == 429
    # With 429 in its retry list (the default), spotipy's retry layer swallows the headers;
    # without it, Retry-After reaches the caller.
    assert not raised.value.headers
    sp = client(sim, sim.token("alice"), status_forcelist=(500,))
    sim.fault(kind="rate_limit", retry_after=42, count=1)
    with pytest.raises(spotipy.SpotifyException) as raised:
        sp.current_user_recently_played()
    assert raised.value.http_status == 429
    assert raised.value.headers["Retry-After"] == "42"
