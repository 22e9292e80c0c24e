"""Encore's real processes: uvicorn serving HTTP, a Celery worker running what the web queued."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.hashers import make_password

from ops.models import JobRun
from scrobbler.models import User
from tests.conftest import PASSWORD
from tests.processes import celery_worker, csrf_token, process_env, sign_in, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def operator() -> None:
    """A staff user whose password hash the real servers (default hashers) can check."""
    User.objects.create(
        username="operator", is_staff=True, password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )


def wait_for_job(job_id: int, *, timeout: float = 60) -> JobRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = JobRun.objects.get(pk=job_id)
        if job.status == JobRun.Status.SUCCEEDED:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout} s")


def request_worker_check(client: httpx.Client) -> int:
    response = client.post(
        "/system/worker-check/", data={"csrfmiddlewaretoken": csrf_token(client)}
    )
    assert response.status_code == 302, response.text
    return JobRun.objects.order_by("-pk").values_list("pk", flat=True)[0]


def test_web_triggered_task_runs_in_a_separate_worker_process(
    tmp_path: Path, static_root: Path
) -> None:
    operator()
    env = process_env(tmp_path, static_root, LOG_LEVEL="DEBUG")  # shows each task received
    with (
        web_server(env, tmp_path / "web.log") as base,
        celery_worker(env, tmp_path / "worker.log") as worker,
    ):
        client = sign_in(base, "operator", PASSWORD)
        job = wait_for_job(request_worker_check(client))
    assert job.details["pid"] != os.getpid()
    assert job.details["pid"] != job.details["requested_by_pid"]  # not the web process either
    assert job.details["pid"] != worker.pid  # prefork: a child of the worker we started
    assert "scrobbler.worker_check" in (tmp_path / "worker.log").read_text()


def test_queued_tasks_wait_for_a_worker_that_starts_later(
    tmp_path: Path, static_root: Path
) -> None:
    operator()
    env = process_env(tmp_path, static_root)
    with web_server(env, tmp_path / "web.log") as base:
        job_id = request_worker_check(sign_in(base, "operator", PASSWORD))
        time.sleep(1)
        assert JobRun.objects.get(pk=job_id).status == JobRun.Status.QUEUED
    with celery_worker(env, tmp_path / "worker.log"):
        wait_for_job(job_id)


def test_readyz_names_each_failing_part(tmp_path: Path, static_root: Path) -> None:
    env = process_env(
        tmp_path,
        static_root,
        DATABASE_URL="postgres://encore@127.0.0.1:1/encore",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    with web_server(env, tmp_path / "web.log") as base:
        response = httpx.get(f"{base}/readyz", timeout=30)
    assert response.status_code == 503
    assert response.json()["failing"] == ["database", "channel_layer", "broker"]


def test_readyz_is_ready_with_the_configured_services(tmp_path: Path, static_root: Path) -> None:
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        response = httpx.get(f"{base}/readyz", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
