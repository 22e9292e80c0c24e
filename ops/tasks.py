from __future__ import annotations

from celery import shared_task


# The name it had before the rooms split: a check queued across an upgrade still runs.
@shared_task(name="scrobbler.worker_check", max_retries=0)
def worker_check(job_id: int) -> None:
    from ops import readiness

    readiness.worker_check_run(job_id=job_id)
