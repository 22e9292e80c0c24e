from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scrobbler.demo import DEMO_PASSWORD, DEMO_USERNAME
from scrobbler.models import User

# Demo mode only: it runs against the simulator, never with real Spotify data.


class Command(BaseCommand):
    help = (
        "Create the demo user (demo / demo) in demo mode; it is refused once Spotify is configured."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("demo_user only runs in demo mode (SPOTIFY_CLIENT_ID unset)")
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        self.stdout.write(
            f"demo user: {DEMO_USERNAME} / {DEMO_PASSWORD}" + (" (created)" if created else "")
        )
