from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

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
