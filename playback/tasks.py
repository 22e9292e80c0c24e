from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


# No retries: beat starts another scan every LIBRARY_SCAN_SECONDS, and a scan resumes cheaply
# (files it already read are unchanged the next time).
@shared_task(name="playback.library_scan", ignore_result=True, max_retries=0)
def library_scan(full: bool = False) -> None:
    """Scan MUSIC_ROOT (beat, every LIBRARY_SCAN_SECONDS, or "Scan now" on the library page)."""
    from playback import library

    report = library.library_scan(full=full)
    if report.error:
        log.warning("library scan did nothing: %s", report.error)


@shared_task(name="playback.housekeeping", ignore_result=True)
def housekeeping() -> int:
    """Forget the ids of controls old enough that no retry of them can still arrive."""
    from playback import sessions

    return sessions.control_requests_forget()
