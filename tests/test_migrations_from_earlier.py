"""A database made by an earlier Encore migrates to the current code with its data intact.

The earlier version's own code (its tree extracted from git) migrates a fresh database and fills
it through its own services: a user, Spotify's catalog, polled and imported plays, the dashboard's
rollups, a finished import, library files, a device, a queue and a paused playback session. The
current code then migrates the same database, and must read all of it back: the same plays, the
same rollup totals, and the same session through the playback snapshot. The database is a file
under tmp_path on SQLite, or a database of its own on DATABASE_URL's PostgreSQL server (dropped
afterwards); never the test database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from config.env import database_from_url
from tests.processes import database_url, manage

ROOT = Path(__file__).resolve().parents[1]
# The commit before the rooms were split (issue 18).
EARLIER = "8cf2e29"

USERNAME = "alice"
PASSWORD = "correct horse battery staple"
TIME_ZONE = "Europe/Paris"
DEVICE = "kitchen-speaker-1"
PAUSED_AT_MS = 42_000

ARTIST = {"uri": "spotify:artist:0OdUWJ0sBjDrqHygGUXeCF", "name": "Band of Horses"}
ALBUM = {
    "uri": "spotify:album:5ATOdJ8j4RJ4Rpd1RXbaDb",
    "name": "Everything All the Time",
    "release_date": "2006-03-21",
    "artists": [ARTIST],
}
TRACKS: list[dict[str, Any]] = [
    {
        "type": "track",
        "uri": f"spotify:track:{spotify_id}",
        "name": name,
        "duration_ms": duration_ms,
        "external_ids": {"isrc": isrc},
        "album": ALBUM,
        "artists": [ARTIST],
    }
    for spotify_id, name, duration_ms, isrc in [
        ("5rJx8pvQ2dGPeD5UHeaSnj", "The First Song", 238_000, "USSUB0600101"),
        ("0WzCG8QFYmMzGbNBsLDMgV", "The Funeral", 322_000, "USSUB0600102"),
        ("3ZlW3oSWn5xWnHX2PcyDGn", "Monsters", 329_000, "USSUB0600103"),
    ]
]
FIRST, FUNERAL, MONSTERS = (track["uri"] for track in TRACKS)

# Plays the poller found (the tracking engine's output), and an Extended Streaming History
# export; each on a day of its own, so that none is taken for another.
POLLED: list[dict[str, Any]] = [
    {"uri": FIRST, "ended_at": "2024-03-01T20:04:00+00:00", "ms_played": 238_000,
     "counted": True, "skipped": False, "source": "live"},
    {"uri": FUNERAL, "ended_at": "2024-03-01T20:09:20+00:00", "ms_played": 8_000,
     "counted": False, "skipped": True, "source": "live"},
    {"uri": FUNERAL, "ended_at": "2024-03-01T20:15:00+00:00", "ms_played": 322_000,
     "counted": True, "skipped": False, "source": "live"},
    {"uri": MONSTERS, "ended_at": "2024-03-02T08:30:00+00:00", "ms_played": 329_000,
     "counted": True, "skipped": False, "source": "history"},
]  # fmt: skip
EXPORTED: list[dict[str, Any]] = [
    {"ts": "2023-11-05T18:00:00Z", "ms_played": 238_000, "uri": FIRST, "reason_end": "trackdone"},
    {"ts": "2023-11-05T18:05:30Z", "ms_played": 5_000, "uri": MONSTERS, "reason_end": "fwdbtn"},
    {"ts": "2023-12-24T22:10:00Z", "ms_played": 329_000, "uri": MONSTERS, "reason_end": "trackdone"},
]  # fmt: skip
IMPORTED: list[dict[str, Any]] = [
    {"uri": r["uri"], "ended_at": r["ts"].replace("Z", "+00:00"), "ms_played": r["ms_played"],
     "counted": r["ms_played"] >= 30_000, "skipped": r["ms_played"] < 30_000, "source": "import"}
    for r in EXPORTED
]  # fmt: skip
# Queued in this order, the second one playing, then paused.
QUEUED = [FIRST, FUNERAL, MONSTERS]

# Run by the earlier code (`manage.py shell -c`), after SEED = {...}: only what that code has.
SEED_SCRIPT = """
from datetime import datetime
from hashlib import sha1
from pathlib import Path

from django.utils import timezone

import scrobbler
from imports import services as imports
from imports.models import Import
from playback.models import LibraryFile
from playback.queue import queue_play
from playback.sessions import Control, device_register, playback_pause
from scrobbler.catalog import catalog_upsert, track_entry
from scrobbler.models import User
from scrobbler.polling import plays_record
from scrobbler.rollups import rollups_refresh
from scrobbler.tracking import DetectedPlay

user = User.objects.create_user(
    SEED["username"], email="alice@example.org", password=SEED["password"],
    time_zone=SEED["time_zone"],
)
tracks = {t["uri"]: t for t in SEED["tracks"]}
ids = catalog_upsert(track_entry(t) for t in SEED["tracks"])

def ms(moment):
    return int(datetime.fromisoformat(moment).timestamp() * 1000)

detected = [
    DetectedPlay(
        track_uri=p["uri"], track=tracks[p["uri"]], started_at_ms=ms(p["ended_at"]) - p["ms_played"],
        ended_at_ms=ms(p["ended_at"]), ms_played=p["ms_played"], counted=p["counted"],
        skipped=p["skipped"], source=p["source"],
    )
    for p in SEED["polled"]
]
assert plays_record(user_id=user.pk, detected=detected) == len(detected)

imp = imports.import_create_from_paths(user=user, paths=[Path(SEED["export"])])
imports.import_analyse(import_id=imp.pk)
assert imports.import_confirm(imp=imp, queue=False)
imports.import_run(import_id=imp.pk)
imp.refresh_from_db()
assert imp.status == Import.Status.DONE, imp.error
assert rollups_refresh(user.pk)

now = timezone.now()
for number, uri in enumerate(SEED["queued"], start=1):
    path = f"Band of Horses/Everything All the Time/{number:02d}.flac"
    LibraryFile.objects.create(
        path=path.encode(), path_key=sha1(path.encode()).hexdigest(), display_path=path,
        size=30_000_000, mtime_ns=1_700_000_000_000_000_000, track_id=ids[uri],
        title=tracks[uri]["name"], artist="Band of Horses", album="Everything All the Time",
        track_number=number, duration_ms=tracks[uri]["duration_ms"], scanned_at=now,
    )
device = device_register(
    user_id=user.pk, client_id=SEED["device"], name="Kitchen speaker", platform="Linux"
)
control = Control(user_id=user.pk, device=device, now=now)
queue_play(
    control, track_ids=[ids[uri] for uri in SEED["queued"]], start=1,
    position_ms=SEED["paused_at_ms"],
)
playback_pause(control)

print(Path(scrobbler.__file__).resolve().parents[1])  # whose code this was
"""

# Run by the current code (`manage.py shell -c`) after SEED = {...}: prints what it reads, as JSON.
READ_SCRIPT = """
import json
from pathlib import Path

import scrobbler

from django.db import connection
from django.db.models import Sum

from imports.models import Import
from playback.models import LibraryFile
from playback.snapshot import session_snapshot
from scrobbler.models import Artist, EntityKind, EntityTotal, ListeningHour, Play, Track, User

user = User.objects.get(username=SEED["username"])
track_uris = dict(Track.objects.values_list("pk", "uri"))
artist_uris = dict(Artist.objects.values_list("pk", "uri"))
totals = EntityTotal.objects.filter(user=user)
imp = Import.objects.get(user=user)
snapshot = session_snapshot(user_id=user.pk)
print(json.dumps({
    "code": str(Path(scrobbler.__file__).resolve().parents[1]),
    "vendor": connection.vendor,
    "user": {
        "email": user.email,
        "time_zone": user.time_zone,
        "password_ok": user.check_password(SEED["password"]),
    },
    "plays": [
        {"uri": p.track.uri, "ended_at": p.ended_at.isoformat(), "ms_played": p.ms_played,
         "counted": p.counted, "skipped": p.skipped, "source": p.source}
        for p in Play.objects.filter(user=user).select_related("track").order_by("ended_at")
    ],
    "hours": ListeningHour.objects.filter(user=user).aggregate(
        listens=Sum("listens"), plays=Sum("plays"), ms_played=Sum("ms_played")
    ),
    "track_plays": {
        track_uris[t.entity_id]: t.plays for t in totals.filter(kind=EntityKind.TRACK)
    },
    "artist_plays": {
        artist_uris[t.entity_id]: t.plays for t in totals.filter(kind=EntityKind.ARTIST)
    },
    "import": {
        "status": imp.status,
        "added": imp.result.get("added"),
        "batch_rows": sum(imp.batches.values_list("rows", flat=True)),
    },
    "library": sorted(LibraryFile.objects.values_list("track__uri", flat=True)),
    "snapshot": {
        "state": snapshot["state"],
        "position_ms": snapshot["position_ms"],
        "track": snapshot["track"]["name"] if snapshot["track"] else None,
        "active_device": snapshot["active_device"],
        "devices": [d["id"] for d in snapshot["devices"]],
        "queue_length": snapshot["queue"]["length"],
        "upcoming": [item["track"]["name"] for item in snapshot["queue"]["upcoming"]],
    },
}))
"""


def _seeded(script: str, **seed: Any) -> str:
    """The script with its SEED, the test's data, defined first."""
    return f"import json\nSEED = json.loads({json.dumps(seed)!r})\n{script}"


def _manage(tree: Path, *args: str, env: dict[str, str]) -> str:
    """`manage.py <args>` of the Encore in `tree`; it must succeed. Returns its output."""
    result = manage(*args, env=env, timeout=120, tree=tree)
    assert result.returncode == 0, f"manage.py {args[0]} in {tree} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture
def earlier_tree(tmp_path: Path) -> Path:
    """The earlier version's files, as git has them."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the earlier version cannot be extracted")
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{EARLIER}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip(f"commit {EARLIER} is not in this clone (shallow?): {found.stderr.strip()}")
    old = tmp_path / "old"
    old.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", EARLIER], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    return old


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """The DATABASE_URL of an empty database: a file on SQLite (the default), a database of its
    own on DATABASE_URL's PostgreSQL server, dropped afterwards."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres:", "postgresql:", "pgsql:")):
        yield f"sqlite:///{tmp_path / 'earlier.sqlite3'}"
        return
    server = database_from_url(configured, conn_max_age=0)
    name = f"encore_migrations_{uuid.uuid4().hex[:12]}"
    with _maintenance(server) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(server, name=name)
    finally:
        with _maintenance(server) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _maintenance(server: dict[str, Any]) -> psycopg.Connection[Any]:
    """A connection to the server's maintenance database, outside transactions (CREATE DATABASE
    cannot run in one)."""
    return psycopg.connect(
        host=server.get("HOST") or None,
        port=server.get("PORT") or None,
        user=server.get("USER") or None,
        password=server.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


def _encore_env(tmp_path: Path, database: str) -> dict[str, str]:
    """An Encore process's environment with nothing of the developer's or CI's (no .env, no
    Redis, no Spotify app): the embedded defaults, every file under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TZ"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        ENCORE_ENV_FILE=str(tmp_path / "absent.env"),
        SECRET_KEY="migrations-test-key-" + "m" * 40,
        DATABASE_URL=database,
        DATA_DIR=str(tmp_path / "var"),
        MUSIC_ROOT=str(tmp_path / "music"),
    )
    return env


@pytest.mark.slow
def test_a_database_made_before_the_rooms_split_migrates_with_its_data(
    tmp_path: Path, earlier_tree: Path, fresh_database: str
) -> None:
    env = _encore_env(tmp_path, fresh_database)
    export = tmp_path / "Streaming_History_Audio_2023.json"
    names = {track["uri"]: track["name"] for track in TRACKS}
    export.write_text(
        json.dumps(
            [
                {
                    "ts": record["ts"],
                    "ms_played": record["ms_played"],
                    "master_metadata_track_name": names[record["uri"]],
                    "master_metadata_album_artist_name": ARTIST["name"],
                    "master_metadata_album_album_name": ALBUM["name"],
                    "spotify_track_uri": record["uri"],
                    "reason_end": record["reason_end"],
                }
                for record in EXPORTED
            ]
        )
    )
    seed = {
        "username": USERNAME,
        "password": PASSWORD,
        "time_zone": TIME_ZONE,
        "tracks": TRACKS,
        "polled": POLLED,
        "export": str(export),
        "queued": QUEUED,
        "device": DEVICE,
        "paused_at_ms": PAUSED_AT_MS,
    }

    _manage(earlier_tree, "migrate", "--no-input", "-v", "0", env=env)
    seeded = _manage(earlier_tree, "shell", "-v", "0", "-c", _seeded(SEED_SCRIPT, **seed), env=env)
    assert seeded.strip().splitlines()[-1] == str(earlier_tree.resolve())
    _manage(ROOT, "migrate", "--no-input", "-v", "0", env=env)
    output = _manage(ROOT, "shell", "-v", "0", "-c", _seeded(READ_SCRIPT, **seed), env=env)
    found = json.loads(output.strip().splitlines()[-1])

    assert found["code"] == str(ROOT)
    assert found["vendor"] == ("sqlite" if fresh_database.startswith("sqlite") else "postgresql")

    assert found["user"] == {
        "email": "alice@example.org",
        "time_zone": TIME_ZONE,
        "password_ok": True,
    }
    expected = sorted(POLLED + IMPORTED, key=lambda p: datetime.fromisoformat(p["ended_at"]))
    plays = found["plays"]
    assert len(plays) == len(expected) == 7
    assert [(p["uri"], p["source"], datetime.fromisoformat(p["ended_at"])) for p in plays] == [
        (p["uri"], p["source"], datetime.fromisoformat(p["ended_at"])) for p in expected
    ]
    assert [(p["ms_played"], p["counted"], p["skipped"]) for p in plays] == [
        (p["ms_played"], p["counted"], p["skipped"]) for p in expected
    ]

    # The dashboard's totals, from the rollups the earlier code built.
    assert found["hours"] == {
        "listens": 7,
        "plays": 5,
        "ms_played": sum(p["ms_played"] for p in expected),
    }
    assert found["track_plays"] == {FIRST: 2, FUNERAL: 1, MONSTERS: 2}
    assert found["artist_plays"] == {ARTIST["uri"]: 5}

    assert found["import"] == {"status": "done", "added": 3, "batch_rows": 3}
    assert found["library"] == sorted(QUEUED)
    assert found["snapshot"] == {
        "state": "paused",
        "position_ms": PAUSED_AT_MS,
        "track": "The Funeral",
        "active_device": DEVICE,
        "devices": [DEVICE],
        "queue_length": 3,
        "upcoming": ["Monsters"],
    }
