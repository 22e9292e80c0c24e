from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imports import exports, services
from imports.models import Import
from ops.http import HtmxHttpRequest
from ops.ratelimits import limited, too_many_requests
from scrobbler.http import signed_in_user

IMPORTS_SHOWN = 20


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Uploads go to files in IMPORT_DIR (never memory), where `import_create` renames them into
    place, and stop at IMPORT_MAX_UPLOAD_MB whatever Content-Length claims."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file = services.IncomingUpload(self.file_name or "upload", self.content_type)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > settings.IMPORT_MAX_UPLOAD_MB * 2**20:
            self.request.upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


@login_required
@never_cache
@csrf_exempt  # checked below, once the upload handler is in place (Django's documented pattern)
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # Counted before the body is read, so a refused upload costs next to nothing.
        retry_after = limited(
            request, group="import-upload", key="user", rate=settings.IMPORT_UPLOAD_RATE
        )
        if retry_after:
            message = "Too many uploads in a short time. Wait a little, then upload again."
            return too_many_requests(request, message=message, retry_after=retry_after)
        request.upload_handlers = [CappedUploadHandler(request)]
        return _upload(request)
    user = signed_in_user(request)
    context = {
        "imports": Import.objects.for_user(user).order_by("-created_at")[:IMPORTS_SHOWN],
        "max_upload_mb": settings.IMPORT_MAX_UPLOAD_MB,
    }
    return render(request, "imports/imports.html", context)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
    too_large = f"That upload is larger than {settings.IMPORT_MAX_UPLOAD_MB:,} MB."
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.IMPORT_MAX_UPLOAD_MB * 2**20:
        messages.error(request, too_large)
        return redirect("imports")
    uploads = request.FILES.getlist("files")
    if getattr(request, "upload_too_large", False):
        messages.error(request, too_large)
        return redirect("imports")
    if not uploads:
        messages.error(request, "Choose your my_spotify_data.zip, or the JSON files in it.")
        return redirect("imports")
    imp = services.import_create(user=signed_in_user(request), uploads=uploads)
    return redirect("import-detail", public_id=imp.public_id)


def _own_import(request: HttpRequest, public_id: UUID) -> Import:
    return get_object_or_404(Import, public_id=public_id, user=signed_in_user(request))


@login_required
@never_cache
@require_GET
def import_detail(request: HtmxHttpRequest, public_id: UUID) -> HttpResponse:
    imp = _own_import(request, public_id)
    template = (
        "imports/import.html#status"
        if request.htmx.target == "import-status"
        else "imports/import.html"
    )
    return render(request, template, {"imp": imp})


@login_required
@require_POST
def import_confirm(request: HttpRequest, public_id: UUID) -> HttpResponse:
    imp = _own_import(request, public_id)
    if not services.import_confirm(imp=imp):
        messages.error(request, "This import is not waiting for confirmation.")
    return redirect("import-detail", public_id=imp.public_id)


@login_required
@require_POST
def import_discard(request: HttpRequest, public_id: UUID) -> HttpResponse:
    imp = _own_import(request, public_id)
    if services.import_discard(imp=imp):
        messages.info(request, "Import discarded; its files were deleted.")
    else:
        messages.error(request, "This import can no longer be discarded.")
    return redirect("imports")


EXPORTS = {
    "csv": (exports.plays_csv, "text/csv; charset=utf-8", "plays.csv"),
    "json": (exports.plays_json, "application/json", "plays.json"),
    "listenbrainz": (exports.listens_listenbrainz, "application/jsonl", "listens.jsonl"),
}


@login_required
@require_GET
def export(request: HttpRequest, kind: str) -> HttpResponseBase:
    if kind not in EXPORTS:
        return HttpResponse(status=404)
    write, content_type, name = EXPORTS[kind]
    user = signed_in_user(request)
    response = StreamingHttpResponse(write(user=user), content_type=content_type)
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = (
        f'attachment; filename="encore-{user.username}-{stamp}-{name}"'
    )
    response["Cache-Control"] = "no-store"
    return response
