"""currently-playing and /me/player over HTTP, checked against the listener's ground truth."""

from __future__ import annotations

from typing import Any

from tests.spotify_sim.conftest import T0_MS, Sim

HOUR_MS = 3_600_000


def listener(sim: Sim, profile: str | dict[str, Any], seed: str = "player") -> str:
    sim.account("alice", seed=seed, profile=profile, start=T0_MS - 2 * HOUR_MS)
    return sim.token("alice")


def long(segment: dict[str, Any]) -> bool:
    return segment["end_ms"] - segment["start_ms"] > 10_000


def test_currently_playing_reports_the_ground_truth_track_progress_and_timestamp(sim: Sim) -> None:
    token = listener(sim, "steady")
    segment = sim.at_segment(
        "alice", lambda s: s["kind"] == "track" and s["is_playing"] and long(s)
    )
    now = (segment["start_ms"] + segment["end_ms"]) // 2
    response = sim.get("me/player/currently-playing", token)
    assert response.status_code == 200
    body = response.json()
    assert body["item"]["uri"] == segment["uri"]
    assert body["item"]["duration_ms"] == segment["duration_ms"]
    assert body["progress_ms"] == segment["progress_ms"] + now - segment["start_ms"]
    assert body["timestamp"] == segment["start_ms"]  # when the state last changed, not now
    assert body["is_playing"] is True
    assert body["currently_playing_type"] == "track"
    assert body["context"]["uri"] == segment["context_uri"]
    assert "device" not in body
    sim.advance(3)
    later = sim.get("me/player/currently-playing", token).json()
    assert later["progress_ms"] == body["progress_ms"] + 3_000
    assert later["timestamp"] == body["timestamp"]


def test_me_player_adds_the_device_shuffle_and_repeat(sim: Sim) -> None:
    token = listener(sim, "steady")
    segment = sim.at_segment("alice", lambda s: s["kind"] == "track" and long(s))
    body = sim.get("me/player", token).json()
    device = segment["device"]
    assert body["device"] == {
        "id": device["id"],
        "is_active": True,
        "is_private_session": False,
        "is_restricted": False,
        "name": device["name"],
        "type": device["type"],
        "volume_percent": device["volume_percent"],
        "supports_volume": True,
    }
    assert body["shuffle_state"] is segment["shuffle"]
    assert body["repeat_state"] == segment["repeat"]


def test_repeat_one_shows_as_repeat_state_track(sim: Sim) -> None:
    token = listener(sim, "repeat_one")
    sim.at_segment("alice", lambda s: s["repeat"] == "track" and s["kind"] == "track")
    assert sim.get("me/player", token).json()["repeat_state"] == "track"


def test_a_paused_track_keeps_its_progress_and_timestamp(sim: Sim) -> None:
    token = listener(sim, "pauser")
    segment = sim.at_segment(
        "alice", lambda s: s["kind"] == "track" and s["cause"] == "pause" and long(s)
    )
    body = sim.get("me/player/currently-playing", token).json()
    assert body["is_playing"] is False
    assert body["progress_ms"] == segment["progress_ms"]
    assert body["actions"]["resuming"] is False
    assert body["actions"]["pausing"] is True
    sim.advance(4)
    assert sim.get("me/player/currently-playing", token).json() == body


def test_nothing_playing_is_204_with_no_body(sim: Sim) -> None:
    token = listener(sim, {"base": "steady", "idle": 0.5})
    sim.at_segment("alice", lambda s: s["kind"] == "idle")
    for path in ("me/player/currently-playing", "me/player"):
        response = sim.get(path, token)
        assert (response.status_code, response.content) == (204, b"")


def test_a_private_session_is_204_although_the_ground_truth_has_the_play(sim: Sim) -> None:
    token = listener(sim, {"base": "steady", "private": 0.5})
    segment = sim.at_segment("alice", lambda s: s["private"] and s["kind"] == "track" and long(s))
    assert sim.get("me/player/currently-playing", token).status_code == 204
    assert sim.get("me/player", token).status_code == 204
    plays = sim.plays("alice", start=segment["start_ms"] - HOUR_MS, end=segment["end_ms"] + HOUR_MS)
    play = next(p for p in plays if p["index"] == segment["play"])
    assert play["private"] is True
    assert play["listed"] is False


def test_an_ad_has_type_ad_and_no_item(sim: Sim) -> None:
    token = listener(sim, {"base": "steady", "ad": 0.5})
    sim.at_segment("alice", lambda s: s["kind"] == "ad")
    body = sim.get("me/player/currently-playing", token).json()
    assert body["currently_playing_type"] == "ad"
    assert body["item"] is None
    assert body["is_playing"] is True
    assert body["actions"]["skipping_next"] is True


def test_an_episode_has_an_item_only_with_additional_types_episode(sim: Sim) -> None:
    token = listener(sim, {"base": "steady", "episode": 0.5})
    segment = sim.at_segment("alice", lambda s: s["kind"] == "episode" and s["is_playing"])
    plain = sim.get("me/player/currently-playing", token).json()
    assert (plain["currently_playing_type"], plain["item"]) == ("episode", None)
    assert plain["progress_ms"] is not None
    body = sim.get("me/player/currently-playing", token, additional_types="track,episode").json()
    assert body["item"]["type"] == "episode"
    assert body["item"]["uri"] == segment["uri"]
    assert body["item"]["show"]["type"] == "show"
    assert body["context"]["type"] == "show"


def test_a_local_file_is_a_track_with_is_local_and_no_id(sim: Sim) -> None:
    token = listener(sim, {"base": "steady", "local": 0.5})
    segment = sim.at_segment("alice", lambda s: s["kind"] == "local")
    body = sim.get("me/player/currently-playing", token).json()
    assert body["currently_playing_type"] == "track"
    item = body["item"]
    assert (item["is_local"], item["id"], item["uri"]) == (True, None, segment["uri"])
    assert item["uri"].startswith("spotify:local:")
    assert item["uri"].endswith(f":{item['duration_ms'] // 1000}")


def test_a_device_switch_can_show_a_moment_of_unknown_with_nulls(sim: Sim) -> None:
    token = listener(sim, "device_hopper")
    sim.at_segment("alice", lambda s: s["kind"] == "unknown")
    body = sim.get("me/player", token).json()
    assert body["currently_playing_type"] == "unknown"
    assert body["item"] is None
    assert body["progress_ms"] is None
