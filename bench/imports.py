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
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.polling import recreate_postgres_database  # noqa: E402


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


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from VmRSS


def measure(export: Path) -> None:
    """The child process: migrate, then analyse and import twice, printing one JSON line."""
    import django

    django.setup()
    from django.core.management import call_command

    from imports import services
    from imports.models import Import
    from scrobbler.models import Play, User

    call_command("migrate", verbosity=0)
    user = User.objects.create(username="bench")
    figures = []
    for attempt in ("first import", "re-import"):
        imp = services.import_create_from_paths(user=user, paths=[export])
        reset_peak_rss()
        started = time.perf_counter()
        services.import_analyse(import_id=imp.pk)
        analysed = time.perf_counter()
        analysis_rss = peak_rss_mb()
        services.import_confirm(imp=imp, queue=False)
        reset_peak_rss()
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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plays", type=int, default=1_000_000)
    parser.add_argument("--seed", default="bench")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return

    work = Path(tempfile.mkdtemp(prefix="encore-bench-"))
    try:
        export = work / "my_spotify_data.zip"
        started = time.perf_counter()
        records = write_export(export, args.plays, args.seed)
        print(
            f"export: {records:,} records in {export.stat().st_size / 2**20:,.0f} MB ZIP "
            f"(generated in {time.perf_counter() - started:.0f} s)"
        )
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url.startswith("postgres"):
            recreate_postgres_database(database_url)
        else:
            database_url = f"sqlite:///{work / 'bench.sqlite3'}"
        (work / "static").mkdir()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ENCORE_ENV_FILE": str(work / "none.env"),
            "DATA_DIR": str(work),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-" + "k" * 40,
            "SPOTIFY_SIMULATOR": "false",
            "LOG_LEVEL": "WARNING",
        }
        output = subprocess.run(
            [sys.executable, __file__, "--measure", str(export)],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        vendor = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
        for step in json.loads(output.strip().splitlines()[-1]):
            print(
                f"{vendor} {step['step']}: {step['listens']:,} listens; "
                f"analyse {step['analyse_s']:.1f} s ({step['listens'] / step['analyse_s']:,.0f}/s, "
                f"peak {step['analyse_rss_mb']:.0f} MB); "
                f"import {step['import_s']:.1f} s ({step['listens'] / step['import_s']:,.0f}/s, "
                f"peak {step['import_rss_mb']:.0f} MB); "
                f"added {step['added']:,}, already stored {step['already']:,}; "
                f"plays stored {step['stored']:,}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
