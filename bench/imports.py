"""How fast Encore imports a Spotify export, and in how much memory.

Generates a realistic Extended Streaming History export of N plays (seeded; Spotify's file sizes,
unsorted records, repeats, podcasts, rows without metadata) as the ZIP Spotify sends, then, in a
fresh process against an empty database:

1. analyses it (what the upload page shows before the user confirms),
2. imports it (deduplicated against the user's plays, which are none yet),
3. analyses and imports it again (every listen already stored: nothing may be added),

and prints seconds, plays per second and the peak resident memory of each step.

    .venv/bin/python bench/imports.py --plays 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/encore_bench .venv/bin/python bench/imports.py

With DATABASE_URL on PostgreSQL the named database is dropped and created anew; without it a
temporary SQLite file is used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    arguments,
    bench_environment,
    django_migrate,
    figures_measure,
    peak_rss_mb,
    peak_rss_reset,
    scratch,
)


def write_export(path: Path, plays: int, seed: str) -> int:
    import msgspec

    from spotify_sim.export import synthetic_export

    records = 0
    start_ms = 1_262_304_000_000  # 2010-01-01: a million plays take about 16 years
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, chunk in synthetic_export(plays, seed=seed, start_ms=start_ms):
            archive.writestr(
                f"Spotify Extended Streaming History/{name}", msgspec.json.encode(chunk)
            )
            records += len(chunk)
    return records


def measure(export: Path) -> None:
    """The child process: migrate, then analyse and import twice, printing one JSON line."""
    django_migrate()
    from imports import services
    from imports.models import Import
    from scrobbler.models import Play, User

    user = User.objects.create(username="bench")
    figures = []
    for attempt in ("first import", "re-import"):
        imp = services.import_create_from_paths(user=user, paths=[export])
        peak_rss_reset()
        started = time.perf_counter()
        services.import_analyse(import_id=imp.pk)
        analysed = time.perf_counter()
        analysis_rss = peak_rss_mb()
        services.import_confirm(imp=imp, queue=False)
        peak_rss_reset()
        services.import_run(import_id=imp.pk)
        finished = time.perf_counter()
        imp.refresh_from_db()
        assert imp.status == Import.Status.DONE, imp.error
        figures.append(
            {
                "step": attempt,
                "listens": imp.report["listens"],
                "analyse_s": analysed - started,
                "analyse_rss_mb": analysis_rss,
                "import_s": finished - analysed,
                "import_rss_mb": peak_rss_mb(),
                "added": imp.result["added"],
                "already": imp.result["already"],
                "stored": Play.objects.filter(user=user).count(),
            }
        )
    print(json.dumps(figures))


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--seed", default="bench")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return

    with scratch("imports") as work:
        export = work / "my_spotify_data.zip"
        started = time.perf_counter()
        records = write_export(export, args.plays, args.seed)
        print(
            f"export: {records:,} records in {export.stat().st_size / 2**20:,.0f} MB ZIP "
            f"(generated in {time.perf_counter() - started:.0f} s)"
        )
        (work / "static").mkdir()
        env = bench_environment(work)
        vendor = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
        for step in figures_measure(__file__, str(export), env=env):
            print(
                f"{vendor} {step['step']}: {step['listens']:,} listens; "
                f"analyse {step['analyse_s']:.1f} s ({step['listens'] / step['analyse_s']:,.0f}/s, "
                f"peak {step['analyse_rss_mb']:.0f} MB); "
                f"import {step['import_s']:.1f} s ({step['listens'] / step['import_s']:,.0f}/s, "
                f"peak {step['import_rss_mb']:.0f} MB); "
                f"added {step['added']:,}, already stored {step['already']:,}; "
                f"plays stored {step['stored']:,}"
            )


if __name__ == "__main__":
    main()
