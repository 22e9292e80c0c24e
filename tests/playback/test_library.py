from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries, DjangoCaptureOnCommitCallbacks

from ops.models import JobRun
from playback import library
from playback.library import ScanReport, library_scan
from playback.models import LibraryFile
from scrobbler.catalog import CatalogEntry, TrackEntry, catalog_upsert, local_uri
from scrobbler.models import Album, Play, Track, User
from tests.factories import PlayFactory, UserFactory
from tests.playback.flac import flac_write, png_bytes
from tests.processes import manage, process_env

pytestmark = pytest.mark.django_db

AS_ROOT = os.geteuid() == 0


def song(path: Path, title: str, artist: str = "Artist", *, seed: int = 0, **tags: Any) -> Path:
    """A short real FLAC; a different `seed` gives different audio (and STREAMINFO MD5)."""
    return flac_write(
        path,
        seconds=tags.pop("seconds", 0.3),
        seed=seed,
        cover=tags.pop("cover", None),
        tags={"TITLE": title, "ARTIST": artist, **{k.upper(): v for k, v in tags.items()}},
    )


def row(rel: str | bytes) -> LibraryFile:
    return LibraryFile.objects.select_related("track").get(
        path_key=hashlib.sha1(os.fsencode(rel), usedforsecurity=False).hexdigest()
    )


def counts(report: ScanReport) -> tuple[int, int, int, int, int]:
    return report.added, report.updated, report.renamed, report.removed, report.unchanged


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The paths the scan opens, in order."""
    opened: list[bytes] = []
    real = library.file_read

    def spy(path: bytes) -> library.FileTags:
        opened.append(path)
        return real(path)

    monkeypatch.setattr(library, "file_read", spy)
    return opened


# --- Tags --------------------------------------------------------------------------------------


def test_tags_of_the_corpus_files(music_root: Path, corpus_flac: Path) -> None:
    shutil.copy(corpus_flac / "silence-44-s.flac", music_root / "silence.flac")
    shutil.copy(corpus_flac / "flac1.5sStereo.flac", music_root / "stereo.flac")
    report = library_scan()
    assert counts(report) == (2, 0, 0, 0, 0)
    assert report.problems == []

    silence = row("silence.flac")
    assert (silence.title, silence.artist, silence.album) == (
        "Silence",
        "piman, jzig",
        "Quod Libet Test Data",
    )
    assert (silence.track_number, silence.date, silence.genre) == (2, "2004", "Silence")
    assert (silence.sample_rate, silence.bits_per_sample, silence.channels) == (44_100, 16, 2)
    assert silence.duration_ms == 3_685
    assert silence.audio_md5 == f"{131021685660704584182193358292653525527:032x}"
    assert len(silence.cover_key) == 40  # the file's one (front cover) picture
    assert silence.error == ""
    track = silence.track
    assert track is not None
    assert track.uri == local_uri("piman", "Silence") == track.name_key
    assert [a.name for a in track.artists.order_by("trackartist__position")] == ["piman", "jzig"]
    assert track.album is not None
    assert track.album.uri == local_uri("piman", "Quod Libet Test Data")
    assert track.album.release_date == "2004"

    stereo = row("stereo.flac")
    assert (stereo.title, stereo.artist, stereo.album) == ("track", "art", "alb")
    assert (stereo.track_number, stereo.date, stereo.genre) == (23, "2014", "Avantgarde")
    assert stereo.cover_key == ""
    assert stereo.track is not None
    assert stereo.track.duration_ms == 1_500


def test_tags_of_every_kind(music_root: Path) -> None:
    flac_write(
        music_root / "a.flac",
        seconds=0.2,
        tags={
            "TITLE": "  Song\x00 ",
            "ARTIST": "Alpha feat. Beta",
            "ARTISTS": ["Alpha", "Beta"],
            "ALBUM ARTIST": "Various",
            "ALBUM": "Mix",
            "TRACKNUMBER": "7/12",
            "DISCNUMBER": "2/2",
            "DATE": "1999-03-04T00:00:00",
            "GENRE": ["Rock", "Pop"],
            "ISRC": "gb-aaa-99-00001",
            "MUSICBRAINZ_TRACKID": "0B0C4D5E-0000-4000-8000-000000000001",
            "MUSICBRAINZ_ALBUMID": "00000000-0000-4000-8000-000000000002",
            "MUSICBRAINZ_ARTISTID": "00000000-0000-4000-8000-000000000003",
        },
    )
    flac_write(music_root / "Untitled take.flac", seconds=0.2, seed=1, tags={"COMMENT": "x"})
    flac_write(music_root / "long.flac", seconds=0.2, seed=2, tags={"TITLE": "t" * 900})
    library_scan()

    a = row("a.flac")
    assert (a.title, a.artist, a.album_artist) == ("Song", "Alpha feat. Beta", "Various")
    assert (a.track_number, a.disc_number, a.date, a.genre) == (7, 2, "1999-03-04", "Rock, Pop")
    assert a.isrc == "GBAAA9900001"
    assert a.musicbrainz_track_id == "0b0c4d5e-0000-4000-8000-000000000001"
    assert a.musicbrainz_album_id.endswith("2")
    assert a.musicbrainz_artist_id.endswith("3")
    assert a.track is not None
    # The catalog credits each artist, and keys the song by the first one, as Spotify would.
    assert a.track.uri == local_uri("Alpha", "Song")
    assert [x.name for x in a.track.artists.order_by("trackartist__position")] == ["Alpha", "Beta"]
    assert a.track.album is not None
    assert a.track.album.uri == local_uri("Various", "Mix")
    assert [x.name for x in a.track.album.artists.all()] == ["Various"]

    untitled = row("Untitled take.flac")
    assert (untitled.title, untitled.artist) == ("Untitled take", "Unknown artist")
    assert untitled.track is not None
    assert untitled.track.album is None
    assert len(row("long.flac").title) == 500


def test_a_file_name_that_is_not_utf8(music_root: Path) -> None:
    made = song(music_root.parent / "made.flac", "Caf")
    name = os.path.join(os.fsencode(music_root), b"caf\xe9.flac")
    fd = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, made.read_bytes())
    os.close(fd)
    report = library_scan()
    assert report.added == 1
    (stored,) = LibraryFile.objects.all()
    assert bytes(stored.path) == b"caf\xe9.flac"
    assert stored.path_key == hashlib.sha1(b"caf\xe9.flac", usedforsecurity=False).hexdigest()
    assert stored.display_path == "caf\ufffd.flac"
    assert stored.error == ""
    assert library_scan().unchanged == 1


# --- Walking the folder ------------------------------------------------------------------------


def test_a_link_to_a_file_outside_the_root_is_refused(music_root: Path, tmp_path: Path) -> None:
    secret = song(tmp_path / "elsewhere" / "secret.flac", "Secret")
    (music_root / "secret.flac").symlink_to(secret)
    report = library_scan()
    assert report.added == 0
    assert [(p.path, p.reason) for p in report.problems] == [
        ("secret.flac", "link to outside MUSIC_ROOT")
    ]
    assert not LibraryFile.objects.exists()


def test_a_sibling_folder_that_shares_the_roots_prefix_is_outside(
    music_root: Path, tmp_path: Path
) -> None:
    private = tmp_path / f"{music_root.name}-private"  # "/x/music-private" starts with "/x/music"
    song(private / "diary.flac", "Diary")
    (music_root / "private").symlink_to(private, target_is_directory=True)
    (music_root / "diary.flac").symlink_to(private / "diary.flac")
    report = library_scan()
    assert sorted(p.path for p in report.problems) == ["diary.flac", "private"]
    assert not LibraryFile.objects.exists()


def test_links_inside_the_root_are_followed(music_root: Path) -> None:
    song(music_root / "real" / "one.flac", "One")
    (music_root / "alias").symlink_to(music_root / "real", target_is_directory=True)
    (music_root / "single.flac").symlink_to(music_root / "real" / "one.flac")
    report = library_scan()
    assert report.problems == []
    # The folder is walked once, under whichever name came first; the file link is a file.
    paths = sorted(f.display_path for f in LibraryFile.objects.all())
    assert paths in (["alias/one.flac", "single.flac"], ["real/one.flac", "single.flac"])


def test_link_loops_do_not_hang(music_root: Path) -> None:
    song(music_root / "a" / "one.flac", "One")
    (music_root / "a" / "up").symlink_to(music_root, target_is_directory=True)
    (music_root / "a" / "self").symlink_to(music_root / "a", target_is_directory=True)
    (music_root / "x.flac").symlink_to(music_root / "y.flac")
    (music_root / "y.flac").symlink_to(music_root / "x.flac")
    report = library_scan()
    assert report.added == 1
    assert sorted(p.path for p in report.problems) == ["x.flac", "y.flac"]


def test_only_flac_files_and_no_hidden_ones(music_root: Path) -> None:
    song(music_root / "LOUD.FLAC", "Loud")
    song(music_root / ".hidden.flac", "Hidden")
    (music_root / "cover.jpg").write_bytes(png_bytes(10, 10))
    (music_root / "notes.txt").write_text("not music")
    assert library_scan().added == 1
    assert row("LOUD.FLAC").title == "Loud"


# --- Bad files ---------------------------------------------------------------------------------


def test_bad_files_are_reported_skipped_and_tried_again_only_once_changed(
    music_root: Path, reads: list[bytes]
) -> None:
    good = song(music_root / "good.flac", "Good")
    (music_root / "garbage.flac").write_bytes(os.urandom(5000))
    (music_root / "truncated.flac").write_bytes(good.read_bytes()[:60])
    (music_root / "empty.flac").write_bytes(b"")
    report = library_scan()
    assert counts(report) == (4, 0, 0, 0, 0)
    assert {p.path: p.reason for p in report.problems} == {
        "empty.flac": "empty file (0 bytes)",
        "garbage.flac": "not a FLAC file",
        "truncated.flac": row("truncated.flac").error,
    }
    assert row("truncated.flac").error.startswith("damaged or truncated FLAC")
    for name in ("garbage.flac", "truncated.flac", "empty.flac"):
        assert row(name).track is None
    assert row("good.flac").track is not None

    reads.clear()
    again = library_scan()
    assert reads == []  # unchanged bad files are not read again
    assert again.unchanged == 4
    assert len(again.problems) == 3  # but still reported

    shutil.copy(good, music_root / "truncated.flac")  # fixed
    fixed = library_scan()
    assert [os.path.basename(p) for p in reads] == [b"truncated.flac"]
    assert counts(fixed) == (0, 1, 0, 0, 3)
    assert row("truncated.flac").error == ""
    assert row("truncated.flac").track is not None


def test_a_file_with_tags_but_no_audio_is_truncated(music_root: Path, corpus_flac: Path) -> None:
    # silence-44-s.flac's audio frames start at byte 4186 (SOURCES.md)
    data = (corpus_flac / "silence-44-s.flac").read_bytes()
    (music_root / "cut.flac").write_bytes(data[:4186])
    (report,) = library_scan().problems
    assert report.reason == "no audio after the tags (truncated?)"


def denied(*args: Any, **kwargs: Any) -> Any:
    raise PermissionError(13, "Permission denied")


def test_an_unreadable_file_is_a_problem(music_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    song(music_root / "locked.flac", "Locked")
    if AS_ROOT:  # permissions do not stop root: refuse as the kernel would
        monkeypatch.setattr(library, "open", denied, raising=False)
    else:
        (music_root / "locked.flac").chmod(0)
    (problem,) = library_scan().problems
    assert problem.reason == "permission denied"


def test_files_in_an_unreadable_folder_are_kept(
    music_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    song(music_root / "box" / "kept.flac", "Kept")
    library_scan()
    box = os.fsencode(music_root / "box")
    real = os.scandir

    def scandir(path: Any) -> Any:
        return denied() if path == box else real(path)

    if AS_ROOT:
        monkeypatch.setattr(library.os, "scandir", scandir)
    else:
        (music_root / "box").chmod(0)
    try:
        report = library_scan()
    finally:
        (music_root / "box").chmod(0o755)
    assert report.removed == 0
    assert [(p.path, p.reason) for p in report.problems] == [
        ("box", "folder not readable (Permission denied)")
    ]
    assert LibraryFile.objects.count() == 1


# --- Incremental scans -------------------------------------------------------------------------


def test_unchanged_files_are_not_read_again(music_root: Path, reads: list[bytes]) -> None:
    song(music_root / "one.flac", "One", seed=1)
    two = song(music_root / "two.flac", "Two", seed=2)
    library_scan()
    assert len(reads) == 2
    reads.clear()

    assert counts(library_scan()) == (0, 0, 0, 0, 2)
    assert reads == []

    song(two, "Two (remastered)", seed=2)
    assert counts(library_scan()) == (0, 1, 0, 0, 1)
    assert [os.path.basename(p) for p in reads] == [b"two.flac"]
    assert row("two.flac").title == "Two (remastered)"

    reads.clear()
    assert counts(library_scan(full=True)) == (0, 2, 0, 0, 0)
    assert len(reads) == 2


def test_a_moved_file_keeps_its_row(music_root: Path, reads: list[bytes]) -> None:
    song(music_root / "old" / "song.flac", "Song", seed=3)
    song(music_root / "other.flac", "Other", seed=4)
    library_scan()
    before = row("old/song.flac")
    (music_root / "new").mkdir()
    os.rename(music_root / "old" / "song.flac", music_root / "new" / "moved.flac")
    reads.clear()
    report = library_scan()
    assert counts(report) == (0, 0, 1, 0, 1)
    after = row("new/moved.flac")
    assert after.pk == before.pk
    assert after.track_id == before.track_id
    assert after.display_path == "new/moved.flac"
    assert LibraryFile.objects.count() == 2


def test_a_deleted_file_loses_its_row_but_not_its_track_or_plays(
    music_root: Path, alice: User
) -> None:
    gone = song(music_root / "gone.flac", "Gone", seed=5)
    song(music_root / "stays.flac", "Stays", seed=6)
    library_scan()
    track = row("gone.flac").track
    assert track is not None
    PlayFactory.create(user=alice, track=track)
    gone.unlink()
    assert counts(library_scan()) == (0, 0, 0, 1, 1)
    assert not LibraryFile.objects.filter(track=track).exists()
    assert Track.objects.filter(pk=track.pk).exists()
    assert Play.objects.filter(track=track).count() == 1


def test_a_missing_music_root_deletes_nothing(music_root: Path, settings: Any) -> None:
    song(music_root / "one.flac", "One")
    library_scan()
    settings.MUSIC_ROOT = music_root.parent / "not-mounted"
    report = library_scan()
    assert report.error.startswith(f"MUSIC_ROOT {settings.MUSIC_ROOT} is missing")
    assert LibraryFile.objects.count() == 1
    job = JobRun.objects.order_by("-pk").first()
    assert job is not None
    assert job.status == JobRun.Status.FAILED
    assert "missing" in job.details["error"]


def test_an_empty_mount_point_deletes_nothing(music_root: Path) -> None:
    one = song(music_root / "one.flac", "One")
    library_scan()
    one.unlink()  # what an unmounted disk's mount point looks like: an empty folder
    report = library_scan()
    assert "is empty" in report.error
    assert LibraryFile.objects.count() == 1
    (music_root / "README").write_text("the collection was moved")  # emptied on purpose
    assert library_scan().removed == 1


# --- The catalog -------------------------------------------------------------------------------


def spotify_track(
    n: int, name: str, artist: str, *, duration_ms: int, isrc: str = "", image: str = ""
) -> Track:
    uri = f"spotify:track:{n:022d}"
    catalog_upsert(
        [
            TrackEntry(
                uri=uri,
                name=name,
                duration_ms=duration_ms,
                isrc=isrc,
                album=CatalogEntry(
                    f"spotify:album:{n:022d}", "Spotify album", {"image_url": image}
                ),
                artists=[CatalogEntry(f"spotify:artist:{n:022d}", artist)],
            )
        ]
    )
    return Track.objects.get(uri=uri)


def test_a_file_with_the_isrc_of_a_spotify_track_is_that_track(music_root: Path) -> None:
    image = "https://i.scdn.co/image/ab67616d0000b273"
    spotify = spotify_track(
        1, "Other name", "Other artist", duration_ms=99_000, isrc="USAAA0000001", image=image
    )
    song(music_root / "a.flac", "Song", isrc="USAAA0000001", cover=png_bytes(20, 20))
    library_scan()
    assert row("a.flac").track_id == spotify.pk
    assert not Track.objects.filter(uri__startswith="local:").exists()
    assert spotify.album is not None
    spotify.album.refresh_from_db()
    assert spotify.album.image_url == image  # a Spotify album's image is Spotify's business


def test_a_file_with_the_name_and_length_of_a_spotify_track_is_that_track(
    music_root: Path,
) -> None:
    near = spotify_track(1, "Song", "Artist", duration_ms=300 + 2_900)  # files last 0.3 s
    spotify_track(2, "Song", "Artist", duration_ms=300 + 9_000)
    song(music_root / "a.flac", "song ", "ARTIST")  # names match case- and space-insensitively
    library_scan()
    assert row("a.flac").track_id == near.pk


def test_a_spotify_track_of_another_length_is_another_recording(music_root: Path) -> None:
    spotify_track(1, "Song", "Artist", duration_ms=300 + 3_100)
    song(music_root / "a.flac", "Song", "Artist")
    library_scan()
    track = row("a.flac").track
    assert track is not None
    assert track.uri == local_uri("Artist", "Song")


def test_a_spotify_track_arriving_later_takes_over_the_file_and_its_plays(
    music_root: Path, alice: User, reads: list[bytes]
) -> None:
    song(music_root / "a.flac", "Song", "Artist")
    library_scan()
    local = row("a.flac").track
    assert local is not None
    PlayFactory.create(user=alice, track=local)

    spotify = spotify_track(7, "Song", "Artist", duration_ms=200_000)  # e.g. polled from Spotify

    assert row("a.flac").track_id == spotify.pk
    assert Play.objects.get(user=alice).track_id == spotify.pk
    assert not Track.objects.filter(pk=local.pk).exists()
    reads.clear()
    library_scan()
    assert reads == []
    assert row("a.flac").track_id == spotify.pk


def test_local_albums_get_the_files_cover(music_root: Path) -> None:
    cover = png_bytes(40, 40)
    key = hashlib.sha1(cover, usedforsecurity=False).hexdigest()
    song(music_root / "1.flac", "One", album="Home", seed=1, cover=cover)
    library_scan()
    album = Album.objects.get(name="Home")
    assert album.image_url == reverse("library-cover", args=[key, 300])
    song(music_root / "2.flac", "Two", album="Home", seed=2)  # no cover of its own
    library_scan()
    album.refresh_from_db()
    assert album.image_url == reverse("library-cover", args=[key, 300])
    assert album.tracks.count() == 2


def test_the_scan_is_bulk(
    music_root: Path, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    for n in range(3):
        song(music_root / "few" / f"{n}.flac", f"Few {n}", f"Artist {n}", seed=n, album="Few")
    with CaptureQueriesContext(connection) as few:
        assert library_scan().added == 3
    for n in range(60):
        song(music_root / "many" / f"{n}.flac", f"Many {n}", f"Artist {n}", seed=n, album=f"A{n}")
    # Only Django's bulk_create splits on SQLite (37 rows of this table per statement).
    with django_assert_max_num_queries(len(few) + 2):
        assert library_scan().added == 60
    assert Track.objects.count() == 63


# --- Runs --------------------------------------------------------------------------------------


def test_a_scan_is_recorded_as_a_job_run(music_root: Path) -> None:
    song(music_root / "one.flac", "One")
    (music_root / "bad.flac").write_bytes(b"nope")
    job_id = library_scan().job_id
    assert job_id is not None
    job = JobRun.objects.get(pk=job_id)
    assert job.kind == JobRun.Kind.LIBRARY_SCAN
    assert job.status == JobRun.Status.SUCCEEDED
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.details["added"] == 2
    assert job.details["root"] == str(music_root)
    assert job.details["problem_count"] == 1
    assert job.details["problems"] == [{"path": "bad.flac", "reason": "not a FLAC file"}]


def test_a_second_scan_while_one_runs_does_nothing(
    music_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    song(music_root / "one.flac", "One")
    inner: list[ScanReport] = []
    real = library.file_read

    def meanwhile(path: bytes) -> library.FileTags:
        inner.append(library_scan())
        return real(path)

    monkeypatch.setattr(library, "file_read", meanwhile)
    outer = library_scan()
    assert outer.added == 1
    (refused,) = inner
    assert refused.busy
    assert refused.job_id is None
    assert JobRun.objects.count() == 1
    assert library_scan().unchanged == 1  # the lock is released after the scan


def test_a_scan_that_crashes_is_recorded_and_releases_the_lock(
    music_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    song(music_root / "one.flac", "One")

    def broken(path: bytes) -> library.FileTags:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(library, "file_read", broken)
    with pytest.raises(RuntimeError):
        library_scan()
    job = JobRun.objects.get()
    assert job.status == JobRun.Status.FAILED
    assert job.details["error"] == "RuntimeError: disk on fire"
    monkeypatch.undo()
    assert library_scan().added == 1


def test_a_scan_left_running_by_a_dead_worker_is_marked_failed(music_root: Path) -> None:
    dead = JobRun.objects.create(kind=JobRun.Kind.LIBRARY_SCAN, status=JobRun.Status.RUNNING)
    library_scan()  # it holds the lock, so no other scan is running
    dead.refresh_from_db()
    assert dead.status == JobRun.Status.FAILED
    assert dead.details == {"error": "interrupted"}


def test_the_command_prints_a_summary_and_each_problem(music_root: Path) -> None:
    song(music_root / "one.flac", "One")
    (music_root / "bad.flac").write_bytes(b"nope")
    out = io.StringIO()
    call_command("scan_library", stdout=out)
    assert out.getvalue().splitlines() == [
        f"Scanned {music_root}: 2 added, 0 updated, 0 moved, 0 removed, 0 unchanged, 1 problem(s).",
        "  bad.flac: not a FLAC file",
    ]
    out = io.StringIO()
    call_command("scan_library", "--full", stdout=out)
    assert "0 added, 2 updated" in out.getvalue()


def test_the_command_fails_without_music_root(music_root: Path, settings: Any) -> None:
    settings.MUSIC_ROOT = music_root / "nowhere"
    with pytest.raises(CommandError, match="is missing") as caught:
        call_command("scan_library")
    assert caught.value.returncode == 1


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_1_without_music_root(tmp_path: Path) -> None:
    env = process_env(tmp_path, tmp_path, MUSIC_ROOT=str(tmp_path / "not-mounted"))
    result = manage("scan_library", env=env)
    assert result.returncode == 1
    assert "not-mounted is missing (not mounted?)" in result.stderr


def test_the_task_runs_the_scan_and_beat_sends_it(music_root: Path, settings: Any) -> None:
    from playback.tasks import library_scan as task

    song(music_root / "one.flac", "One")
    task.delay()
    assert LibraryFile.objects.count() == 1
    entry = settings.CELERY_BEAT_SCHEDULE["library-scan"]
    assert entry["task"] == task.name == "playback.library_scan"
    assert entry["schedule"] == settings.LIBRARY_SCAN_SECONDS
    assert entry["options"]["expires"] < settings.LIBRARY_SCAN_SECONDS


def test_the_admin_lists_and_searches_files_read_only(client: Client, music_root: Path) -> None:
    song(music_root / "one.flac", "Needle", "Haystack")
    song(music_root / "two.flac", "Other", seed=1)
    library_scan()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    url = reverse("admin:playback_libraryfile_changelist")
    page = client.get(url, {"q": "needle"}).content.decode()
    assert "one.flac" in page
    assert "two.flac" not in page
    assert client.get(reverse("admin:playback_libraryfile_add")).status_code == 403
    change = reverse("admin:playback_libraryfile_change", args=[row("one.flac").pk])
    assert client.post(change, {"title": "Changed"}).status_code == 403
    assert row("one.flac").title == "Needle"


# --- The library page --------------------------------------------------------------------------


def filled_library(music_root: Path, albums: int) -> None:
    for n in range(albums):
        song(
            music_root / f"{n}.flac",
            f"Song {n}",
            f"Artist {n}",
            seed=n,
            album=f"Album {n:02d}",
            date="2001-02-03",
            cover=png_bytes(8, 8, "red") if n == 0 else None,
        )
    (music_root / "broken.flac").write_bytes(b"broken")
    library_scan()


def test_the_library_page_shows_totals_albums_and_problems(
    client: Client, alice: User, music_root: Path
) -> None:
    filled_library(music_root, 3)
    client.force_login(alice)
    page = client.get(reverse("library")).content.decode()
    assert "<dt>Files</dt><dd>4</dd>" in page
    assert "<dt>Tracks</dt><dd>3</dd>" in page
    assert "<dt>Albums</dt><dd>3</dd>" in page
    assert "<dt>Problems</dt><dd>1</dd>" in page
    assert "Album 00" in page
    assert "Artist 2" in page
    assert "2001" in page
    key = row("0.flac").cover_key
    assert reverse("library-cover", args=[key, 64]) in page
    assert "broken.flac" in page
    assert "not a FLAC file" in page
    assert "Scan now" not in page  # staff only
    assert str(music_root) not in page


def test_an_empty_library_says_how_to_add_music(client: Client, alice: User) -> None:
    client.force_login(alice)
    page = client.get(reverse("library")).content.decode()
    assert "The library is empty" in page
    assert "manage.py scan_library" in page


def test_staff_see_music_root_and_can_start_a_scan(
    client: Client,
    staff: User,
    music_root: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    song(music_root / "one.flac", "One")
    client.force_login(staff)
    page = client.get(reverse("library")).content.decode()
    assert "Scan now" in page
    assert str(music_root) in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("library"))
    assert response.status_code == 302
    assert LibraryFile.objects.count() == 1  # the task ran (eagerly, in tests)
    assert "Files</dt><dd>1" in client.get(reverse("library")).content.decode()


def test_only_staff_may_start_a_scan(
    client: Client,
    alice: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks() as queued:
        assert client.post(reverse("library")).status_code == 302  # to sign in
        client.force_login(alice)
        assert client.post(reverse("library")).status_code == 403
    assert queued == []
    assert not JobRun.objects.exists()


def test_the_library_page_needs_sign_in(client: Client) -> None:
    response = client.get(reverse("library"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_library_page_without_n_plus_one(
    client: Client,
    alice: User,
    music_root: Path,
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    filled_library(music_root, 12)
    client.force_login(alice)
    with django_assert_max_num_queries(9):
        page = client.get(reverse("library")).content.decode()
    assert page.count("Album ") >= 12


def test_album_pages_swap_in_with_htmx(client: Client, alice: User, music_root: Path) -> None:
    filled_library(music_root, 2)
    client.force_login(alice)
    pager = {"HX-Request": "true", "HX-Target": "albums"}
    response = client.get(reverse("library"), {"page": 1}, headers=pager)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="albums">')
    assert "Album 01" in html
    # A boosted link to the library (static/js/shell.js) is a page change: the whole page.
    boosted = {"HX-Request": "true", "HX-Boosted": "true"}
    page = client.get(reverse("library"), headers=boosted).content.decode()
    assert '<main id="main">' in page
    assert 'id="albums"' in page
