"""The library page and cover art (thin: the work is in playback.library and playback.covers)."""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_GET, require_http_methods

from ops.http import HtmxHttpRequest
from ops.query import PageQuery, query_form, query_of
from playback import covers
from playback import library as service

ALBUMS_PER_PAGE = 50
COVER_CACHE_CONTROL = "private, max-age=2592000, immutable"  # 30 days; the key is a content hash


@require_http_methods(["GET", "POST"])
@login_required
@query_form(PageQuery)
def library(request: HtmxHttpRequest) -> HttpResponse:
    """The library every user of the instance shares; staff may start a scan (POST)."""
    if request.method == "POST":
        if not request.user.is_staff:
            raise PermissionDenied
        service.library_scan_queue()
        messages.success(request, "Library scan queued: a worker runs it in the background.")
        return redirect("library")
    page = Paginator(service.library_albums(), ALBUMS_PER_PAGE).get_page(query_of(request)["page"])
    if request.htmx.target == "albums":
        return render(request, "playback/library.html#albums", {"page": page})
    latest, finished = service.library_scans()
    context = {
        "page": page,
        "totals": service.library_totals(),
        "latest_scan": latest,
        "last_scan": finished,
        "scan_every_minutes": round(settings.LIBRARY_SCAN_SECONDS / 60),
        "music_root": settings.MUSIC_ROOT,
        "music_root_exists": os.path.isdir(settings.MUSIC_ROOT),
    }
    return render(request, "playback/library.html", context)


@require_GET
@login_required
def cover(request: HttpRequest, cover_key: str, size: int) -> HttpResponse:
    """An embedded cover as a JPEG of at most `size` pixels square (64, 160, 300 or 600)."""
    etag = f'"{cover_key}-{size}"'
    jpeg = covers.cover_jpeg(cover_key=cover_key, size=size)
    if jpeg is None:
        raise Http404("No such cover")
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        jpeg, content_type="image/jpeg"
    )
    response["ETag"] = etag
    response["Cache-Control"] = COVER_CACHE_CONTROL
    return response
