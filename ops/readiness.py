"""Readiness of the parts Encore depends on, and the worker check that proves tasks run."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from config.celery import app as celery_app
from ops.models import JobRun
from ops.tasks import worker_check as worker_check_task

CHECK_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class PartStatus:
    name: str
    ok: bool
    detail: str


def _failure(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_database() -> PartStatus:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; the message says which
        return PartStatus("database", ok=False, detail=_failure(exc))
    return PartStatus("database", ok=True, detail=connection.vendor)


async def _channel_round_trip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("readyz.")
    marker = uuid.uuid4().hex
    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
        await layer.send(channel, {"type": "readyz.ping", "marker": marker})
        message = await layer.receive(channel)
    if message.get("marker") != marker:
        raise RuntimeError("channel layer returned another message")


def check_channel_layer() -> PartStatus:
    try:
        async_to_sync(_channel_round_trip)()
    except Exception as exc:
        return PartStatus("channel_layer", ok=False, detail=_failure(exc))
    return PartStatus("channel_layer", ok=True, detail=type(get_channel_layer()).__name__)


def check_broker() -> PartStatus:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
            conn.default_channel  # noqa: B018 - opening a channel proves the broker answers
            transport = conn.transport_cls
    except Exception as exc:
        return PartStatus("broker", ok=False, detail=_failure(exc))
    return PartStatus("broker", ok=True, detail=str(transport))


def readiness() -> list[PartStatus]:
    return [check_database(), check_channel_layer(), check_broker()]


def worker_check_request() -> JobRun:
    """Queue a job that a Celery worker completes, recording which process ran it."""
    job = JobRun.objects.create(
        kind=JobRun.Kind.WORKER_CHECK, details={"requested_by_pid": os.getpid()}
    )
    transaction.on_commit(lambda: worker_check_task.delay(job.pk))
    return job


def worker_check_run(*, job_id: int) -> None:
    claimed = JobRun.objects.filter(pk=job_id, status=JobRun.Status.QUEUED).update(
        status=JobRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return  # already run (a redelivered message)
    job = JobRun.objects.get(pk=job_id)
    job.details = {**job.details, "hostname": socket.gethostname(), "pid": os.getpid()}
    job.status = JobRun.Status.SUCCEEDED
    job.finished_at = timezone.now()
    job.save(update_fields=["details", "status", "finished_at"])
