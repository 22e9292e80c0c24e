"""recently-played over HTTP: ground truth, cursors, limits, quirks."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.spotify_sim.conftest import T0_MS, Sim

HOUR_MS = 3_600_000


def history(sim: Sim, profile: str = "steady", **options: object) -> str:
    sim.account(
        "alice",
        seed="history",
        profile=profile,
        start=T0_MS - 3 * HOUR_MS,
        options={"history": options},
    )
    return sim.token("alice", ttl_s=86_400)


def listed(sim: Sim, end: int | None = None) -> list[dict]:
    plays = sim.plays("alice", end=end) if end else sim.plays("alice")
    return [play for play in plays if play["listed"]][::-1]


def test_recently_played_lists_the_ground_truth_newest_first(sim: Sim) -> None:
    token = history(sim, "skipper")
    body = sim.get("me/player/recently-played", token, limit=50).json()
    expected = listed(sim)[:50]
    assert [item["track"]["uri"] for item in body["items"]] == [p["track_uri"] for p in expected]
    assert [item["played_at"] for item in body["items"]] == [p["played_at"] for p in expected]
    assert [item["context"]["uri"] for item in body["items"]] == [
        p["context_uri"] for p in expected
    ]
    assert all(p["ms_played"] >= 30_000 for p in expected)
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["played_at"])
        for item in body["items"]
    )


def test_default_limit_is_20_and_cursors_are_the_newest_and_oldest_played_at(sim: Sim) -> None:
    token = history(sim)
    body = sim.get("me/player/recently-played", token).json()
    assert (body["limit"], len(body["items"])) == (20, 20)
    expected = listed(sim)
    assert body["cursors"]["after"] == str(_ms(expected[0]["played_at"]))
    assert body["cursors"]["before"] == str(_ms(expected[19]["played_at"]))


def _ms(iso: str) -> int:
    from spotify_sim.times import parse_instant

    return parse_instant(iso)


@pytest.mark.parametrize("limit", ["0", "51", "ten", "-1"])
def test_limit_outside_1_to_50_is_400(sim: Sim, limit: str) -> None:
    response = sim.get("me/player/recently-played", history(sim), limit=limit)
    assert response.json() == {"error": {"status": 400, "message": "Invalid limit"}}


def test_after_and_before_together_is_400(sim: Sim) -> None:
    response = sim.get("me/player/recently-played", history(sim), after=1, before=2)
    assert response.status_code == 400


def test_next_pages_back_with_before_and_stops_at_the_50th(sim: Sim) -> None:
    token = history(sim)
    url, seen = f"{sim.api}/me/player/recently-played?limit=15", []
    while url:
        response = sim.http.get(url, headers={"Authorization": f"Bearer {token}"})
        body = response.json()
        seen += [item["played_at"] for item in body["items"]]
        url = body["next"]
        if url:
            assert "before" in parse_qs(urlsplit(url).query)
    assert seen == [p["played_at"] for p in listed(sim)[:50]]


def test_polling_with_after_sees_every_listed_play_once(sim: Sim) -> None:
    token = history(sim)
    cursor = sim.get("me/player/recently-played", token, limit=50).json()["cursors"]["after"]
    start_cursor, seen = int(cursor), []
    for _ in range(30):
        now = sim.advance(240)
        body = sim.get("me/player/recently-played", token, limit=50, after=cursor).json()
        seen += [item["played_at"] for item in body["items"]][::-1]
        if body["items"]:
            cursor = body["cursors"]["after"]
    expected = [
        p["played_at"] for p in listed(sim, end=now)[::-1] if _ms(p["played_at"]) > start_cursor
    ]
    assert len(expected) > 15
    assert seen == expected


def test_delayed_items_can_appear_behind_the_after_cursor(sim: Sim) -> None:
    """With played_at at the start for some items and late listing, an item can show up with a
    played_at older than a cursor already passed: a poller using only after misses it."""
    token = history(sim, played_at_start_fraction=0.5, delay_tracks=2)
    newest_listed = listed(sim)[0]
    body = sim.get("me/player/recently-played", token, limit=50).json()
    assert newest_listed["played_at"] not in [item["played_at"] for item in body["items"]]
    sim.advance(3_600)
    body = sim.get("me/player/recently-played", token, limit=50).json()
    assert newest_listed["played_at"] in [item["played_at"] for item in body["items"]]


def test_no_history_yet_has_no_items_and_null_cursors(sim: Sim) -> None:
    sim.account("alice", start=T0_MS)
    body = sim.get("me/player/recently-played", sim.token("alice")).json()
    assert (body["items"], body["cursors"], body["next"]) == ([], None, None)
