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


class JobRun(models.Model):
    """One run of background work: a library scan, an import's run, a worker check, or one UTC
    minute of polling (`minute` set: the beat ticks of that minute add themselves to one row)."""

    class Kind(models.TextChoices):
        WORKER_CHECK = "worker_check", "Worker check"
        LIBRARY_SCAN = "library_scan", "Library scan"
        IMPORT = "import", "Import"
        POLLS = "polls", "Polls (a minute)"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    minute = models.DateTimeField(
        null=True, blank=True, help_text="The UTC minute a row of polls sums up"
    )

    class Meta:
        db_table = "scrobbler_jobrun"  # its name from before it moved here from scrobbler
        indexes = [models.Index(fields=["-created_at"], name="jobrun_recent_idx")]
        constraints = [
            # One row per kind and minute (rows without a minute are not affected: NULLs differ);
            # its index also serves the housekeeping's delete of old minutes.
            models.UniqueConstraint(fields=["kind", "minute"], name="jobrun_one_per_minute")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
