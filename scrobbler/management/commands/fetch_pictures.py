from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from scrobbler import pictures


class Command(BaseCommand):
    help = "Download missing album and artist pictures by hand: what the beat schedule runs."

    def handle(self, *args: Any, **options: Any) -> None:
        run = pictures.pictures_fetch_missing()
        stopped = f" (stopped: {run.stopped_by})" if run.stopped_by else ""
        self.stdout.write(f"{run.stored} pictures stored, {run.failed} failed{stopped}")
