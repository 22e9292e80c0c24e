from __future__ import annotations

from django.apps import AppConfig


class ScrobblerConfig(AppConfig):
    name = "scrobbler"
    verbose_name = "Listening history"

    def ready(self) -> None:
        from ops.metrics import metrics_collector_add
        from scrobbler.metrics import PollingCollector

        metrics_collector_add(PollingCollector())
