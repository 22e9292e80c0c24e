from __future__ import annotations

from django.apps import AppConfig


class ScrobblerConfig(AppConfig):
    name = "scrobbler"
    verbose_name = "Listening history"
