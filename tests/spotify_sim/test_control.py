"""The control API: accounts, tokens, clock, ground truth, reset."""

from __future__ import annotations

import pytest

from tests.spotify_sim.conftest import T0, T0_MS, Sim


def test_clock_can_be_set_advanced_and_read(sim: Sim) -> None:
    assert sim.control("GET", "clock") == {
        "mode": "simulated",
        "now_ms": T0_MS,
        "now": "2026-03-01T12:00:00.000Z",
    }
    assert sim.advance(1.5) == T0_MS + 1_500
    assert sim.set_clock(T0_MS + 10) == T0_MS + 10
    real = sim.control("POST", "clock", {"mode": "real"})
    assert real["mode"] == "real"
    assert real["now_ms"] > T0_MS - 10**12


def test_accounts_are_created_lazily_with_a_listener_seeded_by_their_id(sim: Sim) -> None:
    sim.control("POST", "accounts/zoe/tokens")
    zoe = sim.control("GET", "accounts/zoe")
    assert (zoe["seed"], zoe["profile"]["name"]) == ("zoe", "mixed")
    assert zoe["start_ms"] == T0_MS - 3 * 3_600_000  # some history already
    assert zoe["tokens_issued"] == 1
    missing = sim.http.get(f"{sim.base}/_control/accounts/nobody")
    assert missing.status_code == 404


def test_account_options_and_profile_overrides_are_kept(sim: Sim) -> None:
    body = sim.account(
        "alice",
        display_name="Alice",
        seed=42,
        profile={"base": "skipper", "ad": 0.3},
        start=T0,
        options={"token_ttl_s": 60, "history": {"delay_tracks": 2}},
    )
    assert body["display_name"] == "Alice"
    assert body["seed"] == "42"
    assert (body["profile"]["name"], body["profile"]["ad"]) == ("skipper*", 0.3)
    assert body["start_ms"] == T0_MS
    assert body["options"]["token_ttl_s"] == 60
    assert body["options"]["history"]["delay_tracks"] == 2
    updated = sim.account("alice", options={"history": {"delay_s": 5}})
    assert updated["options"]["history"] | {"delay_s": 5} == updated["options"]["history"]
    assert updated["options"]["history"]["delay_tracks"] == 2


@pytest.mark.parametrize(
    "spec",
    [
        {"profile": "nope"},
        {"profile": {"base": "steady", "bogus": 1}},
        {"options": {"bogus": 1}},
        {"options": {"history": {"bogus": 1}}},
        {"colour": "red"},
        {"start": "yesterday"},
    ],
)
def test_bad_account_specs_are_refused(sim: Sim, spec: dict) -> None:
    response = sim.http.post(f"{sim.base}/_control/accounts/alice", json=spec)
    assert response.status_code == 400, response.text


def test_many_accounts_with_tokens_in_one_call(sim: Sim) -> None:
    body = sim.control(
        "POST", "accounts", {"prefix": "bench-", "count": 200, "profile": "steady", "tokens": True}
    )
    assert [entry["id"] for entry in body["accounts"]][:2] == ["bench-0", "bench-1"]
    last = body["accounts"][-1]
    assert sim.get("me", last["tokens"]["access_token"]).json()["id"] == "bench-199"
    listed = sim.control("GET", "accounts")["accounts"]
    assert len(listed) == 200
    explicit = sim.control("POST", "accounts", {"accounts": [{"id": "x", "seed": "s"}]})
    assert explicit == {"accounts": [{"id": "x"}]}


def test_ground_truth_plays_carry_what_history_would_list(sim: Sim) -> None:
    sim.account("alice", seed="truth", profile="skipper", start=T0_MS - 3_600_000)
    plays = sim.plays("alice")
    assert plays
    assert all(p["ended_at_ms"] <= T0_MS for p in plays)
    for play in plays:
        listed = play["kind"] == "track" and not play["private"] and play["ms_played"] >= 30_000
        assert play["listed"] is listed
        assert (play["played_at"] == play["ended_at"]) if listed else play["played_at"] is None
    middle = plays[len(plays) // 2]
    overlapping = sim.plays(
        "alice", start=middle["started_at_ms"] + 1, end=middle["started_at_ms"] + 2, overlapping=1
    )
    assert [p["index"] for p in overlapping] == [middle["index"]]


def test_reset_forgets_accounts_tokens_and_faults(sim: Sim) -> None:
    token = sim.token("alice")
    sim.fault(kind="rate_limit")
    sim.control("POST", "reset", {"clock": "simulated"})
    assert sim.control("GET", "accounts") == {"accounts": []}
    assert sim.control("GET", "faults") == {"faults": []}
    assert sim.get("me", token).status_code == 401


def test_the_root_tells_where_everything_is(sim: Sim) -> None:
    body = sim.http.get(f"{sim.base}/").json()
    assert body["api_base_url"] == sim.api
    assert body["accounts_base_url"] == sim.accounts
