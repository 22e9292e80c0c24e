from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from playback import library


class Command(BaseCommand):
    help = "Scan MUSIC_ROOT for FLAC files: the same code the Celery beat schedule runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full", action="store_true", help="read every file again, changed or not"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = library.library_scan(full=options["full"])
        if report.busy:
            self.stdout.write("Another library scan is running: nothing done.")
            return
        if report.error:
            raise CommandError(report.error)
        self.stdout.write(
            f"Scanned {report.root}: {report.added} added, {report.updated} updated, "
            f"{report.renamed} moved, {report.removed} removed, {report.unchanged} unchanged, "
            f"{len(report.problems)} problem(s)."
        )
        for problem in report.problems:
            self.stdout.write(f"  {problem.path}: {problem.reason}")
