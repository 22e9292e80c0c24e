"""The admin's job runs: background work with how long it took and how it went."""

from __future__ import annotations

from django.contrib import admin

from ops.models import JobRun

# The counts of each kind's details that its one-line summary shows, in this order.
JOB_RUN_SUMMARY = {
    JobRun.Kind.POLLS: ("ticks", "ticks_crashed", "polled", "plays"),
    JobRun.Kind.IMPORT: ("rows", "imported", "skipped"),
    JobRun.Kind.LIBRARY_SCAN: ("added", "updated", "renamed", "removed", "problem_count"),
    JobRun.Kind.WORKER_CHECK: ("hostname",),
}


def job_run_summary(job: JobRun) -> str:
    """The run's details on one line: its non-zero counts, failures by kind and its error."""
    details = job.details if isinstance(job.details, dict) else {}
    parts = [
        f"{key.replace('_', ' ')} {details[key]}"
        for key in JOB_RUN_SUMMARY.get(JobRun.Kind(job.kind), ())
        if details.get(key)
    ]
    failures = details.get("failures")
    if isinstance(failures, dict) and any(failures.values()):
        parts.append(
            "failures: " + ", ".join(f"{kind} {n}" for kind, n in sorted(failures.items()) if n)
        )
    if details.get("error"):
        parts.append(f"error: {details['error']}")
    return "; ".join(parts)


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin[JobRun]):
    """Background work (polls by the minute, imports, library scans, worker checks) with how
    long it took and how it went."""

    list_display = ("created_at", "kind", "status", "started_at", "duration", "summary")
    list_filter = ("kind", "status", "created_at")
    readonly_fields = ("created_at",)
    date_hierarchy = "created_at"

    @admin.display(description="Duration")
    def duration(self, job: JobRun) -> str:
        seconds = job.duration_seconds
        return "" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="Summary")
    def summary(self, job: JobRun) -> str:
        return job_run_summary(job)
