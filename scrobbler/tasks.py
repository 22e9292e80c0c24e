from __future__ import annotations

from celery import shared_task

from scrobbler import polling, system


@shared_task(name="scrobbler.worker_check", max_retries=0)
def worker_check(job_id: int) -> None:
    system.worker_check_run(job_id=job_id)


@shared_task(name="scrobbler.poll_due", ignore_result=True)
def poll_due() -> int:
    """Poll every Spotify account that is due (beat runs this every POLL_TICK_SECONDS)."""
    return len(polling.poll_due())
