"""Fixtures for tests under tests/imports/: a private upload folder, and uploads that go through
the whole service path as the upload page sends them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from imports.models import Import
from imports.services import import_create
from scrobbler.models import User

Upload = Callable[[User, str, bytes], Import]


@pytest.fixture(autouse=True)
def import_dir(settings: Settings, tmp_path: Path) -> Path:
    """Uploads kept under the test's own folder, never under var/. Two levels down, so a member
    named `../../x` would land inside `tmp_path` if anything ever extracted it."""
    folder = tmp_path / "data" / "imports"
    settings.IMPORT_DIR = folder
    return folder


@pytest.fixture
def upload(
    import_dir: Path, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> Upload:
    """Upload one file as a user does (`import_create`) and let the queued analysis run.

    The analysis is queued with `transaction.on_commit`, which never fires inside a test's
    transaction, so the callbacks are run here; Celery is eager in tests, so that is the analysis
    itself. Returns the import as the analysis left it."""

    def send(user: User, name: str, content: bytes) -> Import:
        with django_capture_on_commit_callbacks(execute=True):
            imp = import_create(user=user, uploads=[SimpleUploadedFile(name, content)])
        imp.refresh_from_db()
        return imp

    return send
