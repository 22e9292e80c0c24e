from __future__ import annotations

from django.db import models


class MetricCounter(models.Model):
    """A running total for /metrics (polls, plays recorded, rows imported), kept in the database
    so that every web process and worker adds to, and reports, the same number."""

    name = models.CharField(max_length=60)
    label = models.CharField(max_length=30, blank=True, help_text="e.g. a failure kind or source")
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "label"], name="metriccounter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}{{{self.label}}} = {self.value}"
