from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from scrobbler.models import User


class ImportQuerySet(models.QuerySet["Import"]):
    def for_user(self, user: User) -> ImportQuerySet:
        return self.filter(user=user)


class Import(models.Model):
    """One import of listening history: analysed first, imported once the user confirms.

    `files` lists what to read ({"name": as the user called it, "path": where it is, "owned": True
    for uploads Encore keeps and deletes when done}). Batches of plays are committed with an
    `ImportBatch` row each, so a job picked up again after a crash continues exactly where the
    last commits left it; `result` sums them up once the job is done.
    """

    class Status(models.TextChoices):
        ANALYSING = "analysing", "Reading the files"
        READY = "ready", "Ready to import"
        QUEUED = "queued", "Waiting for a worker"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imports"
    )
    name = models.CharField(max_length=300, help_text="What was uploaded, for the user")
    files = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ANALYSING)
    report = models.JSONField(default=dict, blank=True, help_text="What the analysis found")
    result = models.JSONField(default=dict, blank=True, help_text="What the import did")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker took it")
    claimed_by = models.CharField(max_length=32, blank=True, help_text="The holding worker's token")
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A worker holds the job until then; renewed per batch"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="import_user_recent_idx"),
            models.Index(fields=["status", "claimed_until"], name="import_stalled_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.DISCARDED)

    @property
    def percent(self) -> int:
        return 100 * self.rows_done // self.rows_total if self.rows_total else 0


class ImportBatch(models.Model):
    """One committed batch of an import: its listens (a slice of the import's listens in time
    order) were matched and written in the same transaction as this row, so the rows of an
    import say exactly what is done, even with batches written side by side or a worker killed."""

    job = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="batches")
    first_row = models.PositiveIntegerField()
    rows = models.PositiveIntegerField()
    added = models.PositiveIntegerField()
    added_counted = models.PositiveIntegerField()
    already = models.PositiveIntegerField()
    refined = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "first_row"], name="importbatch_once")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} rows {self.first_row}+{self.rows}"
