from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scrobbler.models import User
from scrobbler.plays import plays_record
from scrobbler.replay import PollLogError, read_poll_log, replay


class Command(BaseCommand):
    help = (
        "Feed a poll log (JSON lines) through the play-tracking engine and print each detected "
        "play as a JSON line; with --user, store them for that user instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("log", help="the poll log (SPOTIFY_POLL_LOG_DIR writes them)")
        parser.add_argument("--user", help="store the plays for this user (duplicates are skipped)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        try:
            with open(options["log"], encoding="utf-8") as log:
                plays = list(
                    replay(
                        read_poll_log(log),
                        play_min_ms=settings.PLAY_MIN_MS,
                        play_min_ratio=settings.PLAY_MIN_RATIO,
                    )
                )
        except OSError as exc:
            raise CommandError(f"cannot read {options['log']}: {exc.strerror}") from exc
        except PollLogError as exc:
            raise CommandError(f"{options['log']}: {exc}") from exc
        if user is None:
            for play in plays:
                self.stdout.write(json.dumps(play.as_json()))
            return
        stored = plays_record(user_id=user.pk, detected=plays)
        self.stdout.write(f"{len(plays)} play(s) detected, {stored} new stored for {user.username}")
