"""Liveness and readiness probes, the staff's system page and its worker check."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks

from ops.models import JobRun
from scrobbler.models import User

pytestmark = pytest.mark.django_db


def test_healthz_is_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_reports_every_part(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["failing"] == []
    assert set(body["parts"]) == {"database", "channel_layer", "broker"}


def test_system_page_is_for_staff_only(client: Client, alice: User) -> None:
    for url in ("/system/", reverse("worker-check")):
        # Anonymous: to the site's sign-in (staff may be anonymous until they sign in).
        response = client.post(url) if "check" in url else client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"
    client.force_login(alice)
    # Signed in but not staff: the 403 page, not a sign-in page that could not help.
    page = client.get("/system/")
    assert page.status_code == 403
    assert "Not allowed" in page.text
    assert 'aria-label="Main"' in page.text
    assert client.post(reverse("worker-check")).status_code == 403
    assert not JobRun.objects.exists()


def test_worker_check_from_the_system_page(
    client: Client, staff: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("worker-check"))
    assert response.status_code == 302
    job = JobRun.objects.get()
    assert job.status == JobRun.Status.SUCCEEDED
    assert "pid" in job.details
    page = client.get("/system/", headers={"HX-Request": "true", "HX-Target": "job-runs"})
    assert page.text.lstrip().startswith('<div id="job-runs"')
    assert f"#{job.pk}" in page.text
