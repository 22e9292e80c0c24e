from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from imports.models import Import


class HasErrorFilter(admin.SimpleListFilter):
    title = "error"
    parameter_name = "has_error"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("yes", "With an error"), ("no", "Without")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Import]) -> QuerySet[Import]:
        match self.value():
            case "yes":
                return queryset.exclude(error="")
            case "no":
                return queryset.filter(error="")
        return queryset


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin[Import]):
    list_display = (
        "created_at",
        "user",
        "name",
        "status",
        "progress",
        "attempts",
        "short_error",
        "finished_at",
    )
    list_filter = ("status", HasErrorFilter, "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "name", "error")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Import._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False  # imports come from the upload page and import_history

    @admin.display(description="Progress", ordering="rows_done")
    def progress(self, imp: Import) -> str:
        if not imp.rows_total:
            return ""
        return f"{imp.percent}% ({imp.rows_done:,} of {imp.rows_total:,})"

    @admin.display(description="Error", ordering="error")
    def short_error(self, imp: Import) -> str:
        return imp.error[:100]
