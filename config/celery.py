"""The Celery app; its configuration is the CELERY_* part of config/settings.py."""

from __future__ import annotations

import os

from celery import Celery, signals

from ops.logs import task_finished, task_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("encore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task's log lines carry its id (ops.logs.LogContext).
signals.task_prerun.connect(task_started, weak=False)
signals.task_postrun.connect(task_finished, weak=False)
