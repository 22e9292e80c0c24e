from __future__ import annotations

from django.urls import path

from ops import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("system/", views.system_status, name="system-status"),
    path("system/worker-check/", views.worker_check, name="worker-check"),
    path("metrics", views.metrics, name="metrics"),
]
