from __future__ import annotations

from celery import shared_task


# No autoretry: a failure is recorded on the import itself, and a worker that dies leaves the job
# claimed until its lease runs out; housekeeping then queues it again to continue.
@shared_task(name="imports.analyse", max_retries=0)
def import_analyse(import_id: int) -> None:
    from imports import services

    services.import_analyse(import_id=import_id)


@shared_task(name="imports.run", max_retries=0)
def import_run(import_id: int) -> None:
    from imports import services

    services.import_run(import_id=import_id)


@shared_task(name="imports.housekeeping", max_retries=0)
def housekeeping() -> None:
    from imports import services

    services.imports_resume_stalled()
    services.imports_remove_unconfirmed()
