"""Importing Spotify's exports: exact counts on real files, and never one listen twice."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imports import services
from imports.models import Import
from scrobbler.catalog import CatalogEntry, TrackEntry, catalog_upsert, local_uri
from scrobbler.epoch import ms_of
from scrobbler.models import Play, Track, User
from tests.imports.importing import analyse, listener_export, run_import, stored, write_json

pytestmark = pytest.mark.django_db


# What a careful reading of each corpus file gives (its SOURCES.md lists the quirks):
# records; records that are not plays, by reason; listens Spotify wrote twice; plays stored;
# plays heard at least PLAY_MIN_MS = 30 s.
CORPUS = {
    # 2,080 records; one with every track field null; one (ts, uri) pair listed twice with the
    # same ms_played; 479 music records under 30 s, so 2,079 - 479 = 1,600 counted.
    "endsong/endsong_1.json": (2_080, {"no track metadata": 1}, 1, 2_078, 1_600),
    # 3,154 records; one podcast episode; one (ts, uri) pair twice (ms_played 0 and 2,400: the
    # fuller one is kept); 776 music records under 30 s: 3,153 - 776 = 2,377 counted.
    "streaming-history-audio/Streaming_History_Audio_2024.json": (
        3_154,
        {"podcast episode": 1},
        1,
        3_152,
        2_377,
    ),
    # 10,000 records, all music; 129 times one track ends twice within one minute, and those
    # are different listens (their msPlayed differ); 4,115 under 30 s: 5,885 counted.
    "account-data/StreamingHistory0.json": (10_000, {}, 0, 10_000, 5_885),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_corpus_file_imports_exactly_what_a_careful_reading_gives(
    alice: User, spotify_exports: Path, name: str
) -> None:
    records, not_played, repeated, plays, counted = CORPUS[name]
    imp = run_import(alice, spotify_exports / name)

    assert imp.report["files"][0]["records"] == records
    assert imp.report["not_played"] == not_played
    assert imp.report["repeated"] == repeated
    assert imp.report["new"] == plays
    assert imp.report["new_counted"] == counted
    assert imp.result["added"] == plays
    assert imp.result["added_counted"] == counted
    assert Play.objects.filter(user=alice).count() == plays
    assert Play.objects.filter(user=alice, counted=True).count() == counted
    # Under 30 s is always a skip.
    assert not Play.objects.filter(user=alice, counted=False, skipped=False).exists()
    # The files' IP addresses (documentation addresses, 192.0.2.x) and usernames are not kept.
    kept = json.dumps([imp.report, imp.result, list(Play.objects.values())], default=str)
    assert "192.0.2." not in kept
    assert "redacted-user" not in kept


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_importing_a_corpus_file_twice_adds_nothing(
    alice: User, spotify_exports: Path, name: str
) -> None:
    first = run_import(alice, spotify_exports / name)
    before = stored(alice)
    again = run_import(alice, spotify_exports / name)

    assert again.report["new"] == 0
    assert again.result["added"] == 0
    assert again.result["already"] == first.result["added"]
    assert stored(alice) == before


def test_the_corpus_date_ranges_and_formats_are_reported(
    alice: User, spotify_exports: Path
) -> None:
    imp = analyse(
        alice,
        spotify_exports / "endsong/endsong_1.json",
        spotify_exports / "account-data/StreamingHistory0.json",
    )
    files = {f["name"]: f for f in imp.report["files"]}
    assert files["endsong_1.json"]["format"] == "Extended Streaming History"
    assert files["StreamingHistory0.json"]["format"] == "Account Data streaming history"
    assert files["endsong_1.json"]["first"].startswith("2014-05-25")  # unsorted in the file
    assert files["endsong_1.json"]["last"].startswith("2021-09-22")
    assert imp.report["first"].startswith("2014-05-25")
    assert Play.objects.count() == 0  # analysing writes nothing


def _extended(
    ts: str, uri: str, ms: int, name: str = "Song", artist: str = "Artist"
) -> dict[str, Any]:
    return {
        "ts": ts,
        "ms_played": ms,
        "master_metadata_track_name": name,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": "Album",
        "spotify_track_uri": uri,
        "reason_end": "trackdone",
    }


def _account(end: str, ms: int, name: str = "Song", artist: str = "Artist") -> dict[str, Any]:
    return {"endTime": end, "artistName": artist, "trackName": name, "msPlayed": ms}


URI_A = "spotify:track:" + "A" * 22
URI_B = "spotify:track:" + "B" * 22


def _both_formats(tmp_path: Path) -> tuple[Path, Path]:
    """The same day of listening as Extended Streaming History and as Account Data: track A
    three times in a row (short, so two end in one minute), then B."""
    extended = [
        _extended("2024-03-01T10:00:40Z", URI_A, 200_000),
        _extended("2024-03-01T10:01:05Z", URI_A, 20_000),
        _extended("2024-03-01T10:01:50Z", URI_A, 40_000),
        _extended("2024-03-01T10:05:00Z", URI_B, 180_000, name="Other"),
    ]
    account = [
        _account("2024-03-01 10:00", 200_000),
        _account("2024-03-01 10:01", 20_000),
        _account("2024-03-01 10:01", 40_000),
        _account("2024-03-01 10:05", 180_000, name="Other"),
    ]
    return (
        write_json(tmp_path / "Streaming_History_Audio_2024.json", extended),
        write_json(tmp_path / "StreamingHistory_music_0.json", account),
    )


def test_two_listens_of_one_track_in_one_minute_are_both_kept(alice: User, tmp_path: Path) -> None:
    _, account = _both_formats(tmp_path)
    imp = run_import(alice, account)

    assert imp.result["added"] == 4
    minute = [p for p in stored(alice) if p[1].startswith("2024-03-01T10:01")]
    assert [ms for _, _, ms, *_ in minute] == [20_000, 40_000]


@pytest.mark.parametrize("order", ["account first", "extended first", "together"])
def test_account_data_and_extended_history_of_the_same_listens_give_one_play_each(
    alice: User, tmp_path: Path, order: str
) -> None:
    extended, account = _both_formats(tmp_path)
    if order == "account first":
        run_import(alice, account)
        last = run_import(alice, extended)
        assert last.result["refined"] == 4  # minute times replaced by exact ones
    elif order == "extended first":
        run_import(alice, extended)
        last = run_import(alice, account)
        assert last.result["added"] == 0
    else:
        last = run_import(alice, extended, account)
        assert last.result["repeated"] == 4

    # Whatever the order: the exact times, under the Spotify tracks, once each.
    assert stored(alice) == [
        (URI_A, "2024-03-01T10:00:40+00:00", 200_000, "import", True, False),
        (URI_A, "2024-03-01T10:01:05+00:00", 20_000, "import", False, True),
        (URI_A, "2024-03-01T10:01:50+00:00", 40_000, "import", True, False),
        (URI_B, "2024-03-01T10:05:00+00:00", 180_000, "import", True, False),
    ]
    assert not Track.objects.filter(uri__startswith="local:", plays__user=alice).exists()


def test_a_local_track_from_account_data_merges_into_the_spotify_track_a_poll_reveals(
    alice: User, tmp_path: Path
) -> None:
    _, account = _both_formats(tmp_path)
    run_import(alice, account)
    local = Track.objects.get(uri=local_uri("Artist", "Song"))
    assert local.plays.count() == 3

    # The live poller sees the track with its URI (as a catalog entry from the API).
    catalog_upsert(
        [
            TrackEntry(
                uri=URI_A,
                name="Song",
                duration_ms=210_000,
                isrc="",
                album=None,
                artists=[CatalogEntry(uri="spotify:artist:" + "C" * 22, name="Artist")],
            )
        ]
    )

    assert not Track.objects.filter(uri=local.uri).exists()
    assert Play.objects.filter(user=alice, track__uri=URI_A).count() == 3


def test_a_repeated_listen_in_extended_history_keeps_the_fuller_report(
    alice: User, tmp_path: Path
) -> None:
    path = write_json(
        tmp_path / "endsong_0.json",
        [
            _extended("2024-10-24T12:03:24Z", URI_A, 0),
            _extended("2024-10-24T12:03:24Z", URI_A, 2_400),
        ],
    )
    imp = run_import(alice, path)

    assert imp.result["repeated"] == 1
    assert [p[2] for p in stored(alice)] == [2_400]


def test_import_after_the_same_listening_was_recorded_live_adds_only_what_live_missed(
    alice: User, tmp_path: Path
) -> None:
    from scrobbler.plays import plays_record
    from scrobbler.simulated import PollPlan, watch
    from scrobbler.tracking import Tracker
    from spotify_sim.listener import Listener
    from spotify_sim.profiles import resolve_profile

    start = ms_of(datetime(2025, 5, 1, 8, tzinfo=UTC))
    end = start + 3 * 3_600_000
    listener = Listener("import-after-live", resolve_profile("mixed"), start)
    watched = watch(listener, start_ms=start, end_ms=end, plan=PollPlan(), seed=7)
    tracker = Tracker()
    # Not flushed: the play still going at the end is not in the export either.
    detected = [p for o in watched.observations for p in tracker.observe(o)]
    live = plays_record(user_id=alice.pk, detected=detected)
    assert live > 20

    truth = [
        p
        for p in listener.plays(start, end)
        if start <= p.ended_at_ms < end and p.kind != "episode"
    ]
    path = write_json(
        tmp_path / "Streaming_History_Audio_2025.json",
        listener_export(listener, start_ms=start, end_ms=end),
    )
    imp = run_import(alice, path)

    # Every real listen is stored exactly once: what live polling caught, plus what it missed.
    assert Play.objects.filter(user=alice).count() == len(truth)
    assert imp.result["added"] == len(truth) - live
    assert (
        imp.result["added"]
        <= len(truth) - len(watched.observed_plays & {p.index for p in truth}) + 1
    )


def test_an_interrupted_import_resumes_to_the_same_result(
    alice: User,
    bob: User,
    tmp_path: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rng = random.Random(3)
    records = [
        _extended(
            f"2024-0{1 + i // 3000}-{1 + (i // 100) % 28:02d}T{(i // 4) % 24:02d}:{i % 60:02d}:{rng.randrange(60):02d}Z",
            "spotify:track:" + f"{rng.randrange(40):022d}",
            rng.choice([0, 10_000, 200_000]),
        )
        for i in range(6_000)
    ]
    path = write_json(tmp_path / "endsong_0.json", records)
    settings.IMPORT_BATCH_ROWS = 500
    whole = run_import(bob, path)

    class WorkerKilled(Exception):
        pass

    def die_after_three_batches(imp: Import) -> None:
        if imp.rows_done >= 1_500:
            raise WorkerKilled

    imp = analyse(alice, path)
    services.import_confirm(imp=imp, queue=False)
    with pytest.raises(WorkerKilled):
        services.import_run(import_id=imp.pk, progress=die_after_three_batches)
    imp.refresh_from_db()
    assert imp.status == Import.Status.IMPORTING
    assert 0 < Play.objects.filter(user=alice).count() < whole.result["added"]
    # Nobody else may take the job while the (dead) worker's lease runs.
    assert services.import_run(import_id=imp.pk) is None

    Import.objects.filter(pk=imp.pk).update(claimed_until=datetime(2000, 1, 1, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.imports_resume_stalled() == 1  # queued again (run eagerly in tests)
    imp.refresh_from_db()

    assert imp.status == Import.Status.DONE
    assert imp.result == whole.result
    assert [p[:3] for p in stored(alice)] == [p[:3] for p in stored(bob)]


def test_an_import_that_keeps_crashing_fails_after_a_few_attempts_keeping_what_it_wrote(
    alice: User, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imports import matching

    settings.IMPORT_BATCH_ROWS = 2
    path = write_json(
        tmp_path / "endsong_0.json",
        [_extended(f"2024-03-01T10:0{n}:00Z", URI_A, 200_000) for n in range(6)],
    )
    imp = analyse(alice, path)
    services.import_confirm(imp=imp, queue=False)
    real_match = matching.match_batch

    def crash_on_the_last_batch(*args: Any, **kwargs: Any) -> Any:
        outcome = real_match(*args, **kwargs)
        if 5 in outcome.new.tolist():  # the listen ending last
            raise RuntimeError("a bug that happens every time")
        return outcome

    monkeypatch.setattr(services, "match_batch", crash_on_the_last_batch)
    for _ in range(services.MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            services.import_run(import_id=imp.pk)
        Import.objects.filter(pk=imp.pk).update(claimed_until=datetime(2000, 1, 1, tzinfo=UTC))

    services.import_run(import_id=imp.pk)
    imp.refresh_from_db()

    assert imp.status == Import.Status.FAILED
    assert "stopped 5 times without finishing, after 4 of 6 listens" in imp.error
    assert Play.objects.filter(user=alice).count() == 4


def test_imported_times_are_stored_as_the_orm_writes_them(alice: User, tmp_path: Path) -> None:
    """Bulk writes bypass the ORM: exact lookups (and so the unique constraint) must still see
    their times, with and without a fraction of a second."""
    path = write_json(
        tmp_path / "endsong_0.json",
        [
            _extended("2024-03-01T10:00:40Z", URI_A, 200_000),
            _extended("2024-03-01T10:07:00.250Z", URI_B, 123_456, name="Other"),
        ],
    )
    run_import(alice, path)

    whole = datetime(2024, 3, 1, 10, 0, 40, tzinfo=UTC)
    fraction = datetime(2024, 3, 1, 10, 7, 0, 250_000, tzinfo=UTC)
    assert Play.objects.filter(user=alice, ended_at=whole).exists()
    assert Play.objects.filter(user=alice, ended_at=fraction).exists()
    play = Play.objects.get(user=alice, ended_at=fraction)
    assert play.started_at == datetime(2024, 3, 1, 10, 4, 56, 794_000, tzinfo=UTC)
