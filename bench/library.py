"""How fast the library scan reads a FLAC collection, and how fast it rescans an unchanged one.

Writes --files real FLAC files (short noise, tagged, 20 per album, each album with its own
embedded cover) to a temporary MUSIC_ROOT, then, in a fresh process against an empty temporary
SQLite database, runs the scan three times: the first scan (every file read and catalogued), a
rescan with nothing changed (no file opened) and a --full rescan (every file read again).

    .venv/bin/python bench/library.py --files 2000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import arguments, bench_environment, django_migrate, figures_measure, scratch

TRACKS_PER_ALBUM = 20


def write_collection(music: Path, files: int, seconds: float) -> None:
    from tests.playback.flac import flac_write, png_bytes

    for n in range(files):
        album = n // TRACKS_PER_ALBUM
        flac_write(
            music / f"Artist {album % 37}" / f"Album {album}" / f"{n % TRACKS_PER_ALBUM:02d}.flac",
            seconds=seconds,
            seed=n,
            tags={
                "TITLE": f"Song {n}",
                "ARTIST": f"Artist {album % 37}",
                "ALBUM": f"Album {album}",
                "TRACKNUMBER": f"{n % TRACKS_PER_ALBUM + 1}/{TRACKS_PER_ALBUM}",
                "DATE": str(1970 + album % 50),
            },
            cover=png_bytes(300, 300, f"#{album * 2654435761 % 0xFFFFFF:06x}"),
        )


def measure() -> None:
    """The child process: migrate, then scan three times, printing one JSON line."""
    django_migrate()
    from playback.library import library_scan

    figures = []
    for step, full in (("first scan", False), ("unchanged rescan", False), ("full rescan", True)):
        started = time.perf_counter()
        report = library_scan(full=full)
        seconds = time.perf_counter() - started
        if report.error or report.problems:
            raise SystemExit(f"the scan went wrong: {report}")
        files = report.added + report.updated + report.unchanged
        figures.append({"step": step, "files": files, "seconds": seconds})
    print(json.dumps(figures))


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=0.5, help="audio per file")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure()
        return

    with scratch("library") as work:
        music = work / "music"
        started = time.perf_counter()
        write_collection(music, args.files, args.seconds)
        size_mb = sum(f.stat().st_size for f in music.rglob("*.flac")) / 2**20
        print(
            f"collection: {args.files:,} FLAC files, {size_mb:,.0f} MB "
            f"(written in {time.perf_counter() - started:.0f} s)"
        )
        env = bench_environment(work, postgres=False, MUSIC_ROOT=str(music))
        for step in figures_measure(__file__, env=env):
            print(
                f"SQLite {step['step']}: {step['files']:,} files in {step['seconds']:.2f} s "
                f"({step['files'] / step['seconds']:,.0f} files/s)"
            )


if __name__ == "__main__":
    main()
