from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings

from imports import exports, services
from imports.exports import listens_listenbrainz, plays_csv, plays_json
from imports.models import Import
from imports.parsing import Format, Reader, classify
from scrobbler.models import Album, Artist, Play, Track, User
from tests.factories import AlbumFactory, ArtistFactory, PlayFactory, TrackFactory

pytestmark = pytest.mark.django_db

Exporter = Callable[..., Iterator[str]]
EXPORTERS = [plays_csv, plays_json, listens_listenbrainz]
# On PostgreSQL an export first lifts the statement timeout (scrobbler.sql.long_queries).
LONG_QUERIES = int(connection.vendor == "postgresql")
START = datetime(2024, 3, 1, 12, 0, 0, 123_000, tzinfo=UTC)


def text_of(exporter: Exporter, user: User) -> str:
    return "".join(exporter(user=user))


def csv_rows(user: User) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text_of(plays_csv, user))))


def play_lines(user: User) -> list[str]:
    """The play lines of a JSON export: after the two header lines, before `]}`."""
    *lines, end = text_of(plays_json, user).split("\n")  # lines as the importer reads them
    assert lines[1] == '"plays": ['
    assert (lines[-1], end) == ("]}", "")
    return lines[2:-1]


def listens(user: User) -> list[dict[str, Any]]:
    *lines, end = text_of(listens_listenbrainz, user).split("\n")
    assert end == ""
    return [json.loads(line) for line in lines]


def play_at(
    user: User, track: Track, minutes: int, *, ms_played: int = 187_456, **fields: object
) -> Play:
    started = START + timedelta(minutes=minutes)
    return PlayFactory.create(
        user=user,
        track=track,
        started_at=started,
        ended_at=started + timedelta(milliseconds=ms_played + 1_001),  # paused a second
        ms_played=ms_played,
        **fields,
    )


def varied_plays(user: User) -> list[Play]:
    """Every source, every counted/skipped pair, a local track without album, a track with two
    artists in credit order; ten minutes apart, so no two could be one listen."""
    duo = TrackFactory.create(
        name="Duet",
        artists=[ArtistFactory.create(name="First"), ArtistFactory.create(name="Second")],
    )
    local_artist = ArtistFactory.create(
        uri="local:" + hashlib.sha1(b"tape").hexdigest(),  # noqa: S324 - an id
        name="Home Tapes",
    )
    local = TrackFactory.create(
        uri="local:" + hashlib.sha1(b"home tapes|demo").hexdigest(),  # noqa: S324 - an id
        name="Demo",
        album=None,
        duration_ms=None,
        artists=[local_artist],
    )
    solo = TrackFactory.create(name="Solo")
    sources = [s.value for s in Play.Source]
    flags = [(True, False), (True, True), (False, True), (False, False)]
    plays = []
    for i, (track, source, (counted, skipped)) in enumerate(
        (t, s, f) for t in (duo, local, solo) for s in sources for f in flags
    ):
        plays.append(
            play_at(
                user,
                track,
                10 * i,
                source=source,
                counted=counted,
                skipped=skipped,
                ms_played=187_456 if counted else 4_321,
            )
        )
    return plays


def import_file(user: User, path: Path) -> Import:
    imp = services.import_create_from_paths(user=user, paths=[path])
    services.import_analyse(import_id=imp.pk)
    Import.objects.filter(pk=imp.pk).update(status=Import.Status.QUEUED)
    services.import_run(import_id=imp.pk)
    imp.refresh_from_db()
    assert imp.status == Import.Status.DONE, imp.error
    return imp


def fields(user: User) -> list[tuple[object, ...]]:
    return list(
        Play.objects.filter(user=user)
        .order_by("ended_at", "id")
        .values_list(
            "track__uri", "started_at", "ended_at", "ms_played", "counted", "skipped", "source"
        )
    )


@pytest.fixture(autouse=True)
def _imports_in_this_test(settings: Settings, import_dir: Path) -> None:
    # Writer threads use their own connections, which cannot see a test's transaction.
    settings.IMPORT_WRITERS = 1


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_has_a_header_and_one_row_per_play_oldest_first(alice: User, bob: User) -> None:
    album = AlbumFactory.create(name="Homogenic")
    track = TrackFactory.create(
        name="Joga",
        album=album,
        artists=[ArtistFactory.create(name="Björk"), ArtistFactory.create(name="Guest")],
    )
    later = play_at(alice, track, 30, source="history", counted=False, skipped=True)
    play_at(alice, track, 0)
    play_at(bob, TrackFactory.create(name="Bob's secret"), 15)

    header, *rows = csv_rows(alice)

    assert header == list(exports.CSV_HEADER)
    assert rows == [
        [
            "2024-03-01T12:03:08.580+00:00",
            "2024-03-01T12:00:00.123+00:00",
            "187456",
            "true",
            "false",
            "live",
            track.uri,
            "Joga",
            "Björk; Guest",
            album.uri,
            "Homogenic",
        ],
        [
            later.ended_at.isoformat(timespec="milliseconds"),
            later.started_at.isoformat(timespec="milliseconds"),
            "187456",
            "false",
            "true",
            "history",
            track.uri,
            "Joga",
            "Björk; Guest",
            album.uri,
            "Homogenic",
        ],
    ]
    assert "Bob's secret" not in text_of(plays_csv, alice)


def test_csv_leaves_album_cells_empty_for_a_track_without_album(alice: User) -> None:
    play_at(alice, TrackFactory.create(album=None), 0)
    (row,) = csv_rows(alice)[1:]
    assert row[-2:] == ["", ""]


@pytest.mark.parametrize(
    "hostile", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_csv_defuses_cells_a_spreadsheet_would_run_as_a_formula(alice: User, hostile: str) -> None:
    artist = ArtistFactory.create(name=hostile)
    album = AlbumFactory.create(name=hostile)
    play_at(alice, TrackFactory.create(name=hostile, album=album, artists=[artist]), 0)

    (row,) = csv_rows(alice)[1:]

    assert row[7:9] == ["'" + hostile] * 2  # track name, artists
    assert row[10] == "'" + hostile  # album name


def test_hostile_and_unicode_names_come_through_every_format_as_plain_text(alice: User) -> None:
    names = [
        "<script>alert(1)</script>",
        "Björk",
        'Line one\r\nsaid "hi", twice',
        "Line\u2028separator 東京事変 🎵",
    ]
    for minutes, name in enumerate(names):
        artist = ArtistFactory.create(name=name)
        play_at(alice, TrackFactory.create(name=name, artists=[artist]), 10 * minutes)

    assert [row[7] for row in csv_rows(alice)[1:]] == names
    assert [row[8] for row in csv_rows(alice)[1:]] == names
    lines = play_lines(alice)
    assert len(lines) == len(names)  # the newline is escaped, not written raw
    assert [json.loads(line.removesuffix(","))["track_name"] for line in lines] == names
    assert [listen["track_metadata"]["track_name"] for listen in listens(alice)] == names


# --- Encore JSON --------------------------------------------------------------------------------


def test_json_export_is_one_json_document_laid_out_one_play_per_line(alice: User) -> None:
    varied_plays(alice)
    text = text_of(plays_json, alice)

    document = json.loads(text)
    assert document["format"] == "encore.plays"
    assert document["version"] == 1
    assert document["user"] == "alice"
    assert len(document["plays"]) == Play.objects.filter(user=alice).count()
    lines = play_lines(alice)
    assert all(line.endswith("},") for line in lines[:-1])
    assert lines[-1].endswith("}")
    assert classify("export.json", text.encode()[:4096]) is Format.ENCORE


def test_json_play_lists_artists_in_credit_order_and_null_album_for_local_tracks(
    alice: User,
) -> None:
    varied_plays(alice)
    plays = json.loads(text_of(plays_json, alice))["plays"]

    duet = next(p for p in plays if p["track_name"] == "Duet")
    assert [a["name"] for a in duet["artists"]] == ["First", "Second"]
    assert duet["started_at"] == "2024-03-01T12:00:00.123+00:00"
    assert duet["ended_at"] == "2024-03-01T12:03:08.580+00:00"
    demo = next(p for p in plays if p["track_name"] == "Demo")
    assert demo["track_uri"].startswith("local:")
    assert demo["album_uri"] is None
    assert demo["album_name"] is None


def test_json_export_round_trips_losslessly_through_the_importer(
    alice: User, bob: User, tmp_path: Path
) -> None:
    varied_plays(alice)
    path = tmp_path / "encore-alice.json"
    path.write_text(text_of(plays_json, alice), encoding="utf-8")

    imp = import_file(bob, path)

    assert imp.result["added"] == Play.objects.filter(user=alice).count() == 60
    assert fields(bob) == fields(alice)
    assert play_lines(bob) == play_lines(alice)


def test_json_export_rebuilds_tracks_albums_and_credits_in_an_empty_catalog(
    alice: User, bob: User, tmp_path: Path
) -> None:
    varied_plays(alice)
    lines = play_lines(alice)
    path = tmp_path / "encore-alice.json"
    path.write_text(text_of(plays_json, alice), encoding="utf-8")
    Play.objects.all().delete()
    for model in (Track, Album, Artist):
        model.objects.all().delete()

    import_file(bob, path)

    assert play_lines(bob) == lines


def test_reimporting_my_own_export_adds_nothing(alice: User, tmp_path: Path) -> None:
    varied_plays(alice)
    PlayFactory.create(user=alice)  # stored to the microsecond: exported to the millisecond
    before = fields(alice)
    path = tmp_path / "encore-alice.json"
    path.write_text(text_of(plays_json, alice), encoding="utf-8")

    imp = import_file(alice, path)

    assert imp.result["added"] == 0
    assert imp.result["already"] == len(before)
    assert fields(alice) == before


def test_json_split_across_many_chunks_reads_back_every_play(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "FETCH_ROWS", 10)
    monkeypatch.setattr(exports, "YIELD_ROWS", 4)
    track = TrackFactory.create()
    for minutes in range(25):
        play_at(alice, track, 10 * minutes)

    chunks = list(plays_json(user=alice))
    reader = Reader(play_min_ms=30_000, now=timezone.now())
    report = reader.read("export.json", Format.ENCORE, io.BytesIO("".join(chunks).encode()))

    assert len(chunks) == 1 + 8 + 1  # header, 4+4+2 + 4+4+2 + 4+1 plays, the end
    assert report.listens == 25
    assert list(reader.listens.ended) == sorted(reader.listens.ended)


# --- ListenBrainz -------------------------------------------------------------------------------


def test_listenbrainz_has_counted_plays_only_listened_at_their_start(alice: User) -> None:
    plays = varied_plays(alice)
    counted = [p for p in plays if p.counted]

    found = listens(alice)

    assert [listen["listened_at"] for listen in found] == [
        int(p.started_at.timestamp()) for p in counted
    ]
    assert all(isinstance(listen["listened_at"], int) for listen in found)


def test_listenbrainz_links_spotify_only_for_spotify_tracks(alice: User) -> None:
    varied_plays(alice)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for listen in listens(alice):
        metadata = listen["track_metadata"]
        by_name.setdefault(metadata["track_name"], []).append(metadata)

    duet = by_name["Duet"][0]
    track = Track.objects.get(name="Duet")
    url = "https://open.spotify.com/track/" + track.uri.removeprefix("spotify:track:")
    assert duet["artist_name"] == "First, Second"
    assert duet["release_name"] == track.album.name  # type: ignore[union-attr]
    assert duet["additional_info"] == {
        "duration_ms": 200_000,
        "spotify_id": url,
        "origin_url": url,
        "music_service": "spotify.com",
        "submission_client": "Encore",
    }
    for demo in by_name["Demo"]:
        assert "release_name" not in demo
        assert (
            demo["additional_info"].keys().isdisjoint({"spotify_id", "origin_url", "duration_ms"})
        )
    services_named = {m["additional_info"].get("music_service") for m in by_name["Solo"]}
    assert services_named == {"spotify.com", None}  # None: played from the local library


# --- Every format -------------------------------------------------------------------------------


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_export_never_holds_another_users_plays(alice: User, bob: User, exporter: Exporter) -> None:
    play_at(alice, TrackFactory.create(name="Mine"), 0)
    play_at(bob, TrackFactory.create(name="Bob's secret", album=None), 5)
    play_at(bob, TrackFactory.create(name="Also Bob's"), 10)

    text = text_of(exporter, alice)

    assert "Mine" in text
    assert "Bob" not in text


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_export_queries_do_not_grow_with_the_number_of_plays(
    alice: User, exporter: Exporter, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    for minutes in range(3):
        play_at(alice, TrackFactory.create(), 10 * minutes)
    # The plays, their tracks' artists (and on PostgreSQL the export's longer statement timeout).
    with django_assert_max_num_queries(2 + LONG_QUERIES) as few:
        text_of(exporter, alice)
    for minutes in range(3, 30):
        play_at(alice, TrackFactory.create(), 10 * minutes)
    with django_assert_max_num_queries(2 + LONG_QUERIES) as many:
        text_of(exporter, alice)
    assert len(many) == len(few)


def test_artists_are_fetched_once_per_batch_of_plays(
    alice: User,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    monkeypatch.setattr(exports, "FETCH_ROWS", 10)
    for minutes in range(25):
        play_at(alice, TrackFactory.create(), 10 * minutes)
    with django_assert_num_queries(1 + 3 + LONG_QUERIES):
        rows = csv_rows(alice)
    assert len(rows) == 1 + 25


def test_export_of_a_user_without_plays_is_valid(alice: User, tmp_path: Path) -> None:
    assert csv_rows(alice) == [list(exports.CSV_HEADER)]
    assert text_of(listens_listenbrainz, alice) == ""
    text = text_of(plays_json, alice)
    assert json.loads(text)["plays"] == []
    path = tmp_path / "encore-empty.json"
    path.write_text(text, encoding="utf-8")

    imp = import_file(alice, path)

    assert imp.report["listens"] == 0
    assert imp.result["added"] == 0
