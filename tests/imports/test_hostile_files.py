"""Hostile and broken uploads, from the uploader's side: each goes through the service API
(create, then analyse) and must fail with one message naming the file (and the record, where
there is one), store no play and no catalog rows, and leave no upload behind; the few that are
harmless (odd member names, markup in names) must import as ordinary data."""

from __future__ import annotations

import io
import json
import struct
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.conf import settings
from pytest_django import Settings

from imports.models import Import
from imports.services import (
    import_analyse,
    import_confirm,
    import_create_from_paths,
    import_run,
)
from scrobbler.models import Album, Artist, Play, Track, User
from tests.imports.conftest import Upload
from tests.imports.importing import analyse

pytestmark = pytest.mark.usefixtures("import_dir")

T = TypeVar("T")
MB = 2**20
REPO = Path(__file__).resolve().parents[2]
AUDIO = "Spotify Extended Streaming History/Streaming_History_Audio_2024.json"
RECORD: dict[str, Any] = {
    "ts": "2024-05-01T10:00:00Z",
    "ms_played": 200000,
    "master_metadata_track_name": "Song",
    "master_metadata_album_artist_name": "Artist",
    "master_metadata_album_album_name": "Album",
    "spotify_track_uri": "spotify:track:4uLU6hMCjMI75M1A2tKUQC",
}
ACCOUNT_RECORD: dict[str, Any] = {
    "endTime": "2024-05-01 10:00",
    "artistName": "Artist",
    "trackName": "Song",
    "msPlayed": 200000,
}


# --- Building files ---------------------------------------------------------------------------


def record(**changes: Any) -> dict[str, Any]:
    return {**RECORD, **changes}


def endsong(*records: dict[str, Any]) -> bytes:
    """An Extended Streaming History file (three good records when none are given)."""
    if not records:
        records = tuple(record(ts=f"2024-05-01T1{n}:00:00Z") for n in range(3))
    return json.dumps(list(records)).encode()


def zip_of(members: Iterable[tuple[str, bytes]], *, level: int = 6) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def understated_zip(content: bytes, *, declared: int, crc_of_prefix: bool) -> bytes:
    """A ZIP whose one member, `endsong_0.json`, claims to be `declared` bytes (in both its local
    and central headers) while its data inflates to all of `content`. With `crc_of_prefix` the
    CRC is forged to match what the claimed size would read."""
    data = bytearray(zip_of([("endsong_0.json", content)], level=1))
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, 22, declared)  # local header: uncompressed size
    struct.pack_into("<I", data, central + 24, declared)  # central directory: the same
    if crc_of_prefix:
        crc = zlib.crc32(content[:declared])
        struct.pack_into("<I", data, 14, crc)
        struct.pack_into("<I", data, central + 16, crc)
    return bytes(data)


def patched_zip(content: bytes, patch: Callable[[bytearray, int], None]) -> bytes:
    """A ZIP of one `endsong_0.json` member with `patch(data, central_offset)` applied."""
    data = bytearray(zip_of([("endsong_0.json", content)]))
    patch(data, data.find(b"PK\x01\x02"))
    return bytes(data)


def sparse(path: Path, size: int, *, start: bytes = b"[") -> Path:
    """A file of `size` bytes, `start` then zero bytes, taking no disk space or time."""
    with path.open("wb") as out:
        out.write(start)
        out.seek(size - 1)
        out.write(b"\0")
    return path


# --- Running the service ----------------------------------------------------------------------


def imported(imp: Import) -> Import:
    """Confirm and run an analysed import, as a worker would; it must succeed."""
    assert imp.status == Import.Status.READY, imp.error
    assert import_confirm(imp=imp, queue=False)
    import_run(import_id=imp.pk)
    imp.refresh_from_db()
    assert imp.status == Import.Status.DONE, imp.error
    return imp


def measured(work: Callable[[], T]) -> tuple[T, float, int]:
    """`work()`, the seconds it took and the peak of Python memory allocated meanwhile."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = work()
        return result, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def upload_folder(imp: Import) -> Path:
    return Path(settings.IMPORT_DIR) / str(imp.public_id)


def assert_failed(
    imp: Import, user: User, *, file: str, says: str, record: int | None = None
) -> None:
    """Failed with one message naming the file (and record), nothing stored, no upload kept."""
    assert imp.status == Import.Status.FAILED, (imp.status, imp.error)
    where = f"{file}, record {record}: " if record is not None else f"{file}: "
    assert imp.error.startswith(where), imp.error
    assert says in imp.error, imp.error
    assert "\n" not in imp.error
    assert "Traceback" not in imp.error
    assert imp.report == {}
    assert Play.objects.filter(user=user).count() == 0
    assert not Track.objects.exists()
    assert not Artist.objects.exists()
    assert not Album.objects.exists()
    for stored in imp.files:
        # Uploads are deleted with their folder; files named on the command line are left alone.
        assert Path(stored["path"]).exists() is not stored["owned"]
    if any(stored["owned"] for stored in imp.files):
        assert not upload_folder(imp).exists()


def report_files(imp: Import) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in imp.report["files"]}


# --- 1. Not a ZIP, not JSON -------------------------------------------------------------------


def test_random_bytes_named_as_a_zip_fail_as_not_a_zip(alice: User, upload: Upload) -> None:
    noise = bytes((n * 197 + 89) % 256 for n in range(64 * 1024))  # not starting with PK
    imp = upload(alice, "my_spotify_data.zip", noise)
    assert_failed(imp, alice, file="my_spotify_data.zip", says="not a ZIP file")


def test_png_named_as_an_export_fails_as_not_json(alice: User, upload: Upload) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
    imp = upload(alice, "endsong_0.json", png)
    assert_failed(imp, alice, file="endsong_0.json", says="not valid JSON")


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("endsong_0.json", "not valid JSON"),
        ("my_spotify_data.zip", "not a ZIP file"),
        ("notes.json", "no Spotify streaming history or Encore export in it"),
    ],
)
def test_empty_file_fails_naming_it(alice: User, upload: Upload, name: str, says: str) -> None:
    imp = upload(alice, name, b"")
    assert_failed(imp, alice, file=name, says=says)


# --- 2. Truncated -----------------------------------------------------------------------------


def test_export_cut_in_the_middle_fails_as_not_valid_json(alice: User, upload: Upload) -> None:
    whole = endsong()
    imp = upload(alice, "endsong_0.json", whole[: len(whole) // 2])
    assert_failed(imp, alice, file="endsong_0.json", says="not valid JSON")


def test_real_export_cut_in_the_middle_fails_as_not_valid_json(
    alice: User, tmp_path: Path, spotify_exports: Path
) -> None:
    whole = (spotify_exports / "endsong" / "endsong_1.json").read_bytes()
    cut = tmp_path / "endsong_1.json"
    cut.write_bytes(whole[: len(whole) // 2])
    imp = analyse(alice, cut)
    assert_failed(imp, alice, file="endsong_1.json", says="not valid JSON")


def test_zip_without_its_central_directory_fails_as_damaged(alice: User, upload: Upload) -> None:
    whole = zip_of([(AUDIO, endsong())])
    cut = whole[: whole.find(b"PK\x01\x02")]  # the members' data is all there, the index is not
    imp = upload(alice, "my_spotify_data.zip", cut)
    assert_failed(imp, alice, file="my_spotify_data.zip", says="damaged ZIP file")


# --- 3. Wrong schema --------------------------------------------------------------------------


def test_ms_played_as_text_names_the_record_and_field(alice: User, upload: Upload) -> None:
    records = [record(ts=f"2024-05-01T1{n}:00:00Z") for n in range(4)]
    records[2]["ms_played"] = "200000"
    imp = upload(alice, "endsong_0.json", endsong(*records))
    assert_failed(
        imp, alice, file="endsong_0.json", record=3, says="ms_played: Expected `int`, got `str`"
    )


def test_object_instead_of_a_list_fails_as_not_a_list(alice: User, upload: Upload) -> None:
    imp = upload(alice, "endsong_0.json", json.dumps(RECORD).encode())
    assert_failed(imp, alice, file="endsong_0.json", says="not a list of streaming records")


@pytest.mark.parametrize(
    ("end_time", "says"),
    [
        ("2024/05/01 10:00", "endTime: Expected `str` matching regex"),
        ("2024-05-01T10:00:00Z", "endTime: Expected `str` matching regex"),
        ("2024-02-30 10:00", "endTime '2024-02-30 10:00' is not a date"),
        ("2024-05-01 25:61", "is not a date"),
    ],
)
def test_account_data_end_time_in_another_format_names_the_record(
    alice: User, upload: Upload, end_time: str, says: str
) -> None:
    records = [dict(ACCOUNT_RECORD, endTime=f"2024-05-01 1{n}:00") for n in range(3)]
    records[1]["endTime"] = end_time
    imp = upload(alice, "StreamingHistory0.json", json.dumps(records).encode())
    assert_failed(imp, alice, file="StreamingHistory0.json", record=2, says=says)


def test_real_account_data_with_one_bad_end_time_names_that_record(
    alice: User, tmp_path: Path, spotify_exports: Path
) -> None:
    real = json.loads((spotify_exports / "account-data" / "StreamingHistory0.json").read_bytes())
    real[2]["endTime"] = "20/02/2019 01:19"
    broken = tmp_path / "StreamingHistory0.json"
    broken.write_text(json.dumps(real))
    imp = analyse(alice, broken)
    assert_failed(imp, alice, file="StreamingHistory0.json", record=3, says="endTime")


# --- 4. Zip bombs ------------------------------------------------------------------------------


def test_zip_bomb_by_ratio_is_refused_before_decompressing(alice: User, upload: Upload) -> None:
    bomb = zip_of([(AUDIO, b"[" + b" " * (50 * MB) + b"]")])
    assert len(bomb) < MB  # about 1000:1, where IMPORT_MAX_ZIP_RATIO is 100
    imp, seconds, peak = measured(lambda: upload(alice, "my_spotify_data.zip", bomb))
    assert_failed(
        imp, alice, file=f"my_spotify_data.zip/{AUDIO}", says="compressed more than 100:1"
    )
    assert seconds < 2
    assert peak < 10 * MB


def test_zip_with_too_many_entries_is_refused(
    alice: User, upload: Upload, settings: Settings
) -> None:
    settings.IMPORT_MAX_ZIP_ENTRIES = 20
    many = zip_of((f"Streaming_History_Audio_2024_{n}.json", b"[]") for n in range(25))
    imp = upload(alice, "my_spotify_data.zip", many)
    assert_failed(
        imp, alice, file="my_spotify_data.zip", says="25 entries is more than the 20 Encore accepts"
    )


def test_zip_larger_than_the_total_cap_uncompressed_is_refused(
    alice: User, upload: Upload, settings: Settings
) -> None:
    settings.IMPORT_MAX_TOTAL_MB = 1
    # Each member under a megabyte, so the ratio check (for bigger members) lets them by.
    parts = zip_of((f"Streaming_History_Audio_2024_{n}.json", b" " * 1_000_000) for n in range(3))
    imp = upload(alice, "my_spotify_data.zip", parts)
    assert_failed(
        imp,
        alice,
        file="my_spotify_data.zip",
        says="2.9 MB uncompressed is more than the 1.0 MB Encore imports at once",
    )


def test_size_message_never_says_a_size_is_more_than_itself(
    alice: User, upload: Upload, settings: Settings
) -> None:
    settings.IMPORT_MAX_TOTAL_MB = 1
    parts = zip_of((f"Streaming_History_Audio_2024_{n}.json", b" " * 700_000) for n in range(2))
    imp = upload(alice, "my_spotify_data.zip", parts)
    assert imp.status == Import.Status.FAILED
    assert "1 MB uncompressed is more than the 1 MB" not in imp.error


def test_member_understating_its_size_fails_its_crc_check(
    alice: User, upload: Upload, settings: Settings
) -> None:
    settings.IMPORT_MAX_FILE_MB = 8
    liar = understated_zip(b"[" + b" " * (100 * MB) + b"]", declared=8192, crc_of_prefix=False)
    imp, seconds, peak = measured(lambda: upload(alice, "my_spotify_data.zip", liar))
    assert_failed(imp, alice, file="my_spotify_data.zip/endsong_0.json", says="Bad CRC-32")
    assert seconds < 2
    # Inflating stops near the file cap (zipfile inflates as much as is asked for, then keeps
    # the claimed 8 kB), never at the 100 MB the member really holds.
    assert peak < 3 * 8 * MB


def test_member_understating_its_size_is_read_only_as_far_as_it_claims(
    alice: User, upload: Upload, settings: Settings
) -> None:
    settings.IMPORT_MAX_FILE_MB = 8
    liar = understated_zip(b"[" + b" " * (100 * MB) + b"]", declared=8192, crc_of_prefix=True)
    imp, _, peak = measured(lambda: upload(alice, "my_spotify_data.zip", liar))
    # The forged CRC matches the first 8 kB, which is all that is read: "[" and spaces.
    assert_failed(imp, alice, file="my_spotify_data.zip/endsong_0.json", says="not valid JSON")
    assert peak < 3 * 8 * MB


def test_zip_inside_the_zip_is_not_opened(alice: User, upload: Upload) -> None:
    inner = zip_of([("endsong_9.json", endsong(record(ts="2023-01-01T00:00:00Z")))])
    outer = zip_of([(AUDIO, endsong()), ("more/inner.zip", inner)])
    imp = upload(alice, "my_spotify_data.zip", outer)
    assert imp.status == Import.Status.READY, imp.error
    files = report_files(imp)
    assert files["my_spotify_data.zip/more/inner.zip"] == {
        "name": "my_spotify_data.zip/more/inner.zip",
        "ignored": "not listening history",
    }
    assert imp.report["listens"] == 3  # the inner ZIP's listen is not among them


def _corrupt_deflate_data(data: bytearray, central: int) -> None:
    start = 30 + len("endsong_0.json")  # the member's compressed data, after its local header
    data[start : start + 8] = b"\xff" * 8


def _deflate64_method(data: bytearray, central: int) -> None:
    # Method 9, Deflate64: what Windows' own "Send to compressed folder" uses for large files.
    struct.pack_into("<H", data, 8, 9)
    struct.pack_into("<H", data, central + 10, 9)


def _invalid_utf8_name(data: bytearray, central: int) -> None:
    # The UTF-8 flag (bit 11) set on a name that is not UTF-8.
    for header, flags in ((0, 6), (central, central + 8)):
        struct.pack_into("<H", data, flags, struct.unpack_from("<H", data, flags)[0] | 0x800)
        name = data.find(b"endsong_0", header)
        data[name + 8] = 0xFF


@pytest.mark.parametrize(
    ("patch", "file"),
    [
        (_corrupt_deflate_data, "my_spotify_data.zip/endsong_0.json"),
        (_deflate64_method, "my_spotify_data.zip/endsong_0.json"),
        (_invalid_utf8_name, "my_spotify_data.zip"),
    ],
    ids=["corrupt-deflate-data", "deflate64", "invalid-utf8-name"],
)
def test_damaged_zip_fails_the_import_with_a_message(
    alice: User, upload: Upload, patch: Callable[[bytearray, int], None], file: str
) -> None:
    imp = upload(alice, "my_spotify_data.zip", patched_zip(endsong(), patch))
    assert_failed(imp, alice, file=file, says="ZIP")


# --- 5. Zip slip ------------------------------------------------------------------------------

SLIPPERY = ["../../evil.json", "/etc/evil.json", "..\\..\\evil.json"]


def _evil_files(tmp_path: Path) -> list[Path]:
    """Anything called *evil.json where an extraction could have put it (on Linux a backslash
    name is one file name, so that is matched too)."""
    found = [p for root in (tmp_path, REPO) for p in root.rglob("*evil.json")]
    found += [p for p in (Path("/etc"), Path(tempfile.gettempdir())) if (p / "evil.json").exists()]
    found += list(Path.cwd().glob("*evil.json"))
    return found


def test_members_named_to_escape_are_read_as_plain_names(
    alice: User, upload: Upload, tmp_path: Path
) -> None:
    assert _evil_files(tmp_path) == []
    slippery = zip_of(
        (name, endsong(record(ts=f"2024-05-0{n + 1}T10:00:00Z"))) for n, name in enumerate(SLIPPERY)
    )
    imp = upload(alice, "my_spotify_data.zip", slippery)
    assert imp.status == Import.Status.READY, imp.error
    files = report_files(imp)
    for name in SLIPPERY:
        listed = files[f"my_spotify_data.zip/{name}"]
        assert (listed["format"], listed["listens"]) == ("Extended Streaming History", 1)
    assert _evil_files(tmp_path) == []
    imported(imp)
    assert Play.objects.filter(user=alice).count() == 3
    assert not upload_folder(imp).exists()
    assert _evil_files(tmp_path) == []


# --- 6. A 500 MB line -------------------------------------------------------------------------


def test_500_mb_loose_export_is_refused_without_reading_it(alice: User, tmp_path: Path) -> None:
    huge = sparse(tmp_path / "endsong_0.json", 500 * MB)
    imp = import_create_from_paths(user=alice, paths=[huge])
    _, seconds, peak = measured(lambda: import_analyse(import_id=imp.pk))
    imp.refresh_from_db()
    assert_failed(
        imp,
        alice,
        file="endsong_0.json",
        says="500 MB is more than the 64 MB Encore reads per file",
    )
    assert seconds < 1
    assert peak < 50 * MB


def test_500_mb_line_in_an_encore_export_is_refused_after_a_megabyte(
    alice: User, tmp_path: Path
) -> None:
    header = b'{"format": "encore.plays", "version": 1, "user": "alice",\n"plays": [\n'
    huge = sparse(tmp_path / "encore-export.json", 500 * MB, start=header)
    imp = import_create_from_paths(user=alice, paths=[huge])
    _, seconds, peak = measured(lambda: import_analyse(import_id=imp.pk))
    imp.refresh_from_db()
    assert_failed(
        imp, alice, file="encore-export.json", record=3, says="a line is longer than 1 MB"
    )
    assert seconds < 1
    assert peak < 50 * MB


@pytest.fixture(scope="module")
def zip_with_500_mb_member(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A ZIP (about 2 MB) whose export member inflates to 500 MB of one JSON line: built once,
    streamed in chunks at the fastest level (about a second)."""
    path = tmp_path_factory.mktemp("bomb") / "my_spotify_data.zip"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open(AUDIO, "w") as member,
    ):
        member.write(b"[")
        chunk = b" " * (4 * MB)
        for _ in range(125):
            member.write(chunk)
    return path.read_bytes()


def test_500_mb_member_in_a_zip_is_refused_by_its_ratio(
    alice: User, upload: Upload, zip_with_500_mb_member: bytes
) -> None:
    imp, seconds, peak = measured(
        lambda: upload(alice, "my_spotify_data.zip", zip_with_500_mb_member)
    )
    assert_failed(
        imp, alice, file=f"my_spotify_data.zip/{AUDIO}", says="compressed more than 100:1"
    )
    assert seconds < 2
    assert peak < 50 * MB


def test_500_mb_member_in_a_zip_is_refused_by_the_file_cap_when_the_ratio_allows_it(
    alice: User, upload: Upload, settings: Settings, zip_with_500_mb_member: bytes
) -> None:
    settings.IMPORT_MAX_ZIP_RATIO = 1_000_000
    imp, seconds, peak = measured(
        lambda: upload(alice, "my_spotify_data.zip", zip_with_500_mb_member)
    )
    assert_failed(
        imp,
        alice,
        file=f"my_spotify_data.zip/{AUDIO}",
        says="500 MB is more than the 64 MB Encore reads per file",
    )
    assert seconds < 2
    assert peak < 50 * MB


# --- 7. Numbers and times out of range ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ms_played", "says"),
    [(10**30, "ms_played: Expected `int` <= 2147483647"), (-5, "ms_played: Expected `int` >= 0")],
)
def test_ms_played_out_of_range_names_the_record(
    alice: User, upload: Upload, ms_played: int, says: str
) -> None:
    records = [record(), record(ts="2024-05-01T11:00:00Z", ms_played=ms_played)]
    imp = upload(alice, "endsong_0.json", endsong(*records))
    assert_failed(imp, alice, file="endsong_0.json", record=2, says=says)


@pytest.mark.parametrize(
    "ts",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:59",  # past year 9999 in UTC
        "2005-12-31T23:59:59Z",  # before Spotify
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00+23:59",  # before year 1 in UTC
    ],
)
def test_time_out_of_range_names_the_record(alice: User, upload: Upload, ts: str) -> None:
    records = [record(), record(ts="2024-05-01T11:00:00Z"), record(ts=ts)]
    imp = upload(alice, "endsong_0.json", endsong(*records))
    assert_failed(imp, alice, file="endsong_0.json", record=3, says="is out of range")


def test_account_data_end_time_in_year_9999_names_the_record(alice: User, upload: Upload) -> None:
    records = [ACCOUNT_RECORD, dict(ACCOUNT_RECORD, endTime="9999-12-31 23:59")]
    imp = upload(alice, "StreamingHistory0.json", json.dumps(records).encode())
    assert_failed(imp, alice, file="StreamingHistory0.json", record=2, says="is out of range")


def test_time_without_a_time_zone_names_the_record(alice: User, upload: Upload) -> None:
    records = [record(), record(ts="2024-05-01T11:00:00")]
    imp = upload(alice, "endsong_0.json", endsong(*records))
    assert_failed(imp, alice, file="endsong_0.json", record=2, says="time has no time zone")


# --- 8. Markup in names -----------------------------------------------------------------------


def test_markup_in_names_is_stored_as_the_exact_text(alice: User, upload: Upload) -> None:
    script, image = "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'
    hostile = record(
        master_metadata_track_name=script,
        master_metadata_album_artist_name=image,
        master_metadata_album_album_name=f"{script}&amp;",
    )
    imp = imported(upload(alice, "endsong_0.json", endsong(hostile)))
    play = Play.objects.select_related("track__album").get(user=alice)
    assert play.track.name == script
    assert [a.name for a in play.track.artists.all()] == [image]
    assert play.track.album is not None
    assert play.track.album.name == f"{script}&amp;"
    assert not upload_folder(imp).exists()


# --- 9. Other users ---------------------------------------------------------------------------


def test_hostile_import_by_alice_does_not_stop_bobs_import(
    alice: User, bob: User, upload: Upload
) -> None:
    hostile = upload(
        alice, "my_spotify_data.zip", zip_of([(AUDIO, b"[" + b" " * (50 * MB) + b"]")])
    )
    valid = upload(bob, "endsong_0.json", endsong())
    assert hostile.status == Import.Status.FAILED
    imported(valid)
    assert Play.objects.filter(user=bob).count() == 3
    assert Play.objects.filter(user=alice).count() == 0
    assert not upload_folder(hostile).exists()
    assert not upload_folder(valid).exists()


# --- 10. Other files in the ZIP -----------------------------------------------------------------


def test_non_music_and_unknown_files_in_a_zip_are_listed_with_their_reason(
    alice: User, upload: Upload
) -> None:
    video = endsong(record(spotify_track_uri=None, master_metadata_track_name="A video"))
    folder = "Spotify Extended Streaming History"
    archive = zip_of(
        [
            (f"{folder}/Streaming_History_Audio_2024.json", endsong()),
            (f"{folder}/Streaming_History_Video_2024.json", video),
            ("Spotify Account Data/Userdata.json", b'{"username": "alice", "country": "SE"}'),
            (f"{folder}/ReadMeFirst.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        ]
    )
    imp = upload(alice, "my_spotify_data.zip", archive)
    assert imp.status == Import.Status.READY, imp.error
    files = report_files(imp)
    prefix = "my_spotify_data.zip/"
    assert files[f"{prefix}{folder}/Streaming_History_Audio_2024.json"]["listens"] == 3
    assert files[f"{prefix}{folder}/Streaming_History_Video_2024.json"]["ignored"] == (
        "video history (not music)"
    )
    assert files[f"{prefix}Spotify Account Data/Userdata.json"]["ignored"] == (
        "not listening history"
    )
    assert files[f"{prefix}{folder}/ReadMeFirst.pdf"]["ignored"] == "not listening history"
    assert len(files) == 4
    imported(imp)
    assert (
        list(Play.objects.filter(user=alice).values_list("track__name", flat=True)) == ["Song"] * 3
    )


def test_same_export_twice_in_a_zip_counts_each_listen_once(alice: User, upload: Upload) -> None:
    archive = zip_of([(AUDIO, endsong()), (f"copy/{AUDIO}", endsong())])
    imp = upload(alice, "my_spotify_data.zip", archive)
    assert imp.status == Import.Status.READY, imp.error
    assert (imp.report["listens"], imp.report["repeated"], imp.report["new"]) == (6, 3, 3)
    imported(imp)
    assert Play.objects.filter(user=alice).count() == 3


def test_two_entries_with_one_name_are_each_read(alice: User, upload: Upload) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("endsong_0.json", endsong(record(ts="2024-05-01T10:00:00Z")))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("endsong_0.json", endsong(record(ts="2024-05-02T10:00:00Z")))
    imp = upload(alice, "my_spotify_data.zip", buffer.getvalue())
    assert imp.status == Import.Status.READY, imp.error
    assert (imp.report["new"], imp.report["repeated"]) == (2, 0)


def test_real_exports_import_beside_hostile_names(
    alice: User, upload: Upload, spotify_exports: Path
) -> None:
    real = (
        spotify_exports / "streaming-history-audio" / "Streaming_History_Audio_2024.json"
    ).read_bytes()
    archive = zip_of([(f"../../{AUDIO}", real), ("Userdata.json", b"{}")])
    imp = upload(alice, "my_spotify_data.zip", archive)
    assert imp.status == Import.Status.READY, imp.error
    listed = report_files(imp)[f"my_spotify_data.zip/../../{AUDIO}"]
    assert listed["records"] == len(json.loads(real))
    assert imp.report["new"] > 0
    assert upload_folder(imp).exists()  # kept until confirmed or discarded
