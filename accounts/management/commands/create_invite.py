from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts import registration
from scrobbler.models import INVITE_DAYS


class Command(BaseCommand):
    help = (
        "Make an invite to sign up (for REGISTRATION=invite) and print its code and link path; "
        "the code is not stored, so it cannot be shown again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=INVITE_DAYS,
            help="days it can be used (default %(default)s)",
        )
        parser.add_argument("--note", default="", help="who it is for, e.g. an email address")

    def handle(self, *args: Any, days: int, note: str, **options: Any) -> None:
        try:
            new = registration.invite_create(created_by=None, note=note, days=days)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"code: {new.code}")
        self.stdout.write(f"link: {new.signup_path}  (after this server's address)")
        self.stdout.write(f"expires: {new.invite.expires_at:%Y-%m-%d %H:%M %Z}")
        if registration.registration_mode() != registration.INVITE:
            # Still made, for a switch to invite-only later; say so rather than mislead.
            self.stderr.write(
                f"note: REGISTRATION={registration.registration_mode()}, so sign-up does not ask "
                "for invites at the moment"
            )
