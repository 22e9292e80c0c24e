from __future__ import annotations

from django.apps import AppConfig


class SpotifySimConfig(AppConfig):
    name = "spotify_sim"
    verbose_name = "Spotify simulator"
