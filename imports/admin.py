from __future__ import annotations

from django.contrib import admin

from imports.models import Import


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin[Import]):
    list_display = (
        "created_at",
        "user",
        "name",
        "status",
        "rows_done",
        "rows_total",
        "finished_at",
    )
    list_filter = ("status",)
    list_select_related = ("user",)
    search_fields = ("user__username", "name", "error")
    readonly_fields = [f.name for f in Import._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False  # imports come from the upload page and import_history
