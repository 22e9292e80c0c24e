from __future__ import annotations

from celery import shared_task

from scrobbler import system


@shared_task(name="scrobbler.worker_check", max_retries=0)
def worker_check(job_id: int) -> None:
    system.worker_check_run(job_id=job_id)
