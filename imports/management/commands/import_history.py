from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imports import services
from imports.models import Import
from imports.parsing import ExportError
from scrobbler.models import User
from scrobbler.rollups import rollups_refresh

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Analyse Spotify export files (my_spotify_data.zip, endsong_*.json, "
        "Streaming_History_Audio_*.json, StreamingHistory*.json) or an Encore export for a user "
        "and report what importing them would do; with --yes, import them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="ZIP or JSON files")
        parser.add_argument("--user", required=True, help="whose history this is")
        parser.add_argument("--yes", action="store_true", help="import after the analysis")
        parser.add_argument(
            "--worker",
            action="store_true",
            help="with --yes: let the Celery workers import it, and follow their progress",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r}")
        try:
            imp = services.import_create_from_paths(user=user, paths=options["paths"])
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        services.import_analyse(import_id=imp.pk)
        imp.refresh_from_db()
        if imp.status == Import.Status.FAILED:
            raise CommandError(imp.error)
        self._report(imp)
        if not options["yes"]:
            self.stdout.write("Nothing imported yet: run again with --yes to import.")
            services.import_discard(imp=imp)
            return
        services.import_confirm(imp=imp, queue=options["worker"])
        if options["worker"]:
            imp = self._follow(imp)
        else:
            services.import_run(import_id=imp.pk, progress=self._progress)
            imp.refresh_from_db()
            sys.stderr.write("\nUpdating the dashboard...")
            rollups_refresh(imp.user_id)  # here, rather than waiting for a worker
        sys.stderr.write("\n")
        if imp.status != Import.Status.DONE:
            raise CommandError(imp.error or f"import ended {imp.status}")
        result = imp.result
        self.stdout.write(
            f"Imported: {result['added']:,} plays added ({result['added_counted']:,} counted), "
            f"{result['already']:,} already in Encore, {result['refined']:,} made more precise, "
            f"{result['repeated']:,} repeated in the export."
        )

    def _report(self, imp: Import) -> None:
        report = imp.report
        for file in report["files"]:
            if file.get("ignored"):
                self.stdout.write(f"  {file['name']}: ignored ({file['ignored']})")
            else:
                self.stdout.write(
                    f"  {file['name']}: {file['format']}, {file['records']:,} records, "
                    f"{file['listens']:,} listens, {(file['first'] or '')[:10]} to "
                    f"{(file['last'] or '')[:10]}"
                )
        self.stdout.write(
            f"{report['listens']:,} listens from {(report['first'] or '')[:10]} to "
            f"{(report['last'] or '')[:10]}: {report['new']:,} new ({report['new_counted']:,} "
            f"counted), {report['already']:,} already in Encore, {report['repeated']:,} repeated "
            "in the export."
        )
        for reason, count in report["not_played"].items():
            self.stdout.write(f"Not imported: {reason}: {count:,}")

    def _progress(self, imp: Import) -> None:
        filled = BAR_WIDTH * imp.percent // 100
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {imp.percent:3d}% "
            f"{imp.rows_done:,}/{imp.rows_total:,} listens"
        )
        sys.stderr.flush()

    def _follow(self, imp: Import) -> Import:
        while True:
            imp.refresh_from_db()
            self._progress(imp)
            if imp.finished:
                return imp
            time.sleep(1)
