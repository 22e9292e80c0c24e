"""The admin's library files, and the library scan staff can start from the users' and the job
runs' pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from ops import admin as ops_admin
from ops.models import JobRun
from playback.library import library_scan_queue
from playback.models import LibraryFile


@admin.register(LibraryFile)
class LibraryFileAdmin(admin.ModelAdmin[LibraryFile]):
    """Read-only: the scan owns these rows (edit the files and scan again)."""

    list_display = ("display_path", "track", "error", "scanned_at")
    list_select_related = ("track",)
    search_fields = ("display_path", "title", "artist")
    exclude = ("path",)  # raw bytes; display_path shows them

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description="Re-scan the music library (shared by all users)")
def rescan_library(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> None:
    library_scan_queue()
    model_admin.message_user(request, "Library scan queued: a worker runs it.", messages.SUCCESS)


admin.site.unregister(JobRun)


@admin.register(JobRun)
class JobRunAdmin(ops_admin.JobRunAdmin):
    """The job runs with a button that queues a library scan."""

    change_list_template = "admin/playback/jobrun_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        scan = path(
            "scan-library/",
            self.admin_site.admin_view(require_POST(self.scan_library_view)),
            name="ops_jobrun_scan_library",
        )
        return [scan, *super().get_urls()]

    def scan_library_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        library_scan_queue()
        self.message_user(request, "Library scan queued: a worker runs it.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:ops_jobrun_changelist"))
