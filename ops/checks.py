"""Encore's own deployment checks (``manage.py check --deploy``), beside Django's security ones."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def simulator_not_served_in_production(**kwargs: Any) -> list[CheckMessage]:
    """The bundled Spotify simulator is for trying Encore, tests and benchmarks: served by a
    production site (HTTPS=true) it hands anyone a simulated Spotify, and its control API, if
    opened, everyone's simulated tokens and request logs."""
    if not settings.SPOTIFY_SIMULATOR:
        return []
    found: list[CheckMessage] = []
    if settings.HTTPS:
        found.append(
            Warning(
                "The bundled Spotify simulator is served at /spotify-sim/ with HTTPS=true.",
                hint="Set SPOTIFY_CLIENT_ID (and the other Spotify settings) to use Spotify, or "
                "SPOTIFY_SIMULATOR=false.",
                id="encore.W001",
            )
        )
    if settings.SPOTIFY_SIMULATOR_CONTROL_OPEN:
        found.append(
            Warning(
                "The simulator's control API (/spotify-sim/_control/) is open to anyone.",
                hint="Unset SPOTIFY_SIMULATOR_CONTROL_OPEN: staff can still use it.",
                id="encore.W002",
            )
        )
    return found
