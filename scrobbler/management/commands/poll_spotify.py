from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from scrobbler import polling
from scrobbler.models import SpotifyAccount


class Command(BaseCommand):
    help = "Poll Spotify by hand: the same code the Celery beat schedule runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="only this user's account, polled now even if not due")
        parser.add_argument(
            "--loop", action="store_true", help="keep polling due accounts until stopped"
        )
        parser.add_argument(
            "--once", action="store_true", help="poll what is due once, then stop (default)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["user"]:
            account = SpotifyAccount.objects.filter(user__username=options["user"]).first()
            if account is None:
                raise CommandError(f"{options['user']} has no linked Spotify account")
            claimed = polling.poll_claim_due(
                now=timezone.now().replace(year=9999), limit=1, user_ids=[account.user_id]
            )
            self._report(polling.poll_accounts(claimed, force=True))
            return
        if options["loop"]:
            polling.poll_run(seconds=None)
            return
        self._report(polling.poll_due())

    def _report(self, outcomes: list[polling.PollOutcome]) -> None:
        for outcome in outcomes:
            state = "ok" if outcome.ok else f"failed ({outcome.failure})"
            self.stdout.write(
                f"account {outcome.account_id}: {state}, {outcome.plays_recorded} new play(s)"
            )
