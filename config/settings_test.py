"""Test settings: the real settings, with a throwaway key and Celery running tasks in-process."""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "test-only-key-" + "x" * 40)

from config.settings import *  # noqa: F403
from config.settings import DATA_DIR, DATABASES, STATIC_ROOT

# A file, not :memory:, so worker and server processes started by tests see the same database.
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"]["NAME"] = str(DATA_DIR / f"test-{os.getpid()}.sqlite3")

CELERY_TASK_ALWAYS_EAGER = True
# Each test process its own cache: nothing cached survives into another run.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# MD5 is fast, for tests only; PBKDF2 too, for users that real server processes must sign in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The test client and the browser tests get static files straight from the finders.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Tests run inside a transaction other connections cannot see: one writer per import, on the
# test's own connection (tests that check parallel writers say so).
IMPORT_WRITERS = 1
