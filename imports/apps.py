from __future__ import annotations

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        from imports.metrics import ImportsCollector
        from ops.metrics import metrics_collector_add

        metrics_collector_add(ImportsCollector())
