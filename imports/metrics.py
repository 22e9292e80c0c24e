"""Imports' figures for /metrics (ops.metrics)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from imports.models import Import
from ops.counters import IMPORT_ROWS, counter_values


class ImportsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        rows = CounterMetricFamily("encore_import_rows", "Listens of exports read and imported")
        rows.add_metric([], counter_values(IMPORT_ROWS).get("", 0))
        yield rows

        jobs = GaugeMetricFamily("encore_import_jobs", "Import jobs by state", labels=["state"])
        by_state = dict(Import.objects.order_by().values_list("status").annotate(count=Count("pk")))
        for state in Import.Status.values:
            jobs.add_metric([state], by_state.get(state, 0))
        yield jobs
