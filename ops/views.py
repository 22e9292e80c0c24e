"""Operations pages: liveness and readiness probes, the staff's system page with its worker
check, and Prometheus metrics."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST

from ops import readiness
from ops.access import staff_required
from ops.http import HtmxHttpRequest
from ops.metrics import metrics_text
from ops.models import JobRun

JOB_RUNS_SHOWN = 10


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive (no dependencies checked: that is /readyz)."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    parts = readiness.readiness()
    failing = [part.name for part in parts if not part.ok]
    body = {
        "status": "ok" if not failing else "unavailable",
        "failing": failing,
        "parts": {part.name: {"ok": part.ok, "detail": part.detail} for part in parts},
    }
    return JsonResponse(body, status=503 if failing else 200)


@require_GET
@staff_required
def system_status(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "parts": readiness.readiness(),
        "job_runs": JobRun.objects.order_by("-created_at")[:JOB_RUNS_SHOWN],
    }
    template = (
        "ops/system.html#job-runs" if request.htmx.target == "job-runs" else "ops/system.html"
    )
    return render(request, template, context)


@require_POST
@staff_required
def worker_check(request: HttpRequest) -> HttpResponse:
    readiness.worker_check_request()
    return redirect("system-status")


def _allowed(request: HttpRequest) -> bool:
    """A scraper with METRICS_TOKEN as its bearer token, or signed-in staff."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and secrets.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    return bool(getattr(request.user, "is_staff", False))


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404  # the endpoint's existence is nobody else's business
    response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
