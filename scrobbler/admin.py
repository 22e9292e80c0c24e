from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from scrobbler.models import (
    Album,
    Artist,
    JobRun,
    Play,
    SpotifyAccount,
    SpotifyWaitlistEntry,
    Track,
    TrackArtist,
    User,
)
from scrobbler.spotify import accounts


@admin.register(User)
class EncoreUserAdmin(UserAdmin[User]):
    readonly_fields = ("public_id",)
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Encore", {"fields": ("public_id",)}))


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin[Artist]):
    list_display = ("name", "uri")
    search_fields = ("name", "uri")


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin[Album]):
    list_display = ("name", "release_date", "uri")
    search_fields = ("name", "uri")
    filter_horizontal = ("artists",)


class TrackArtistInline(admin.TabularInline[TrackArtist, Track]):
    model = TrackArtist
    autocomplete_fields = ("artist",)
    extra = 0


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin[Track]):
    list_display = ("name", "album", "duration_ms", "uri")
    search_fields = ("name", "uri", "isrc")
    list_select_related = ("album",)
    autocomplete_fields = ("album",)
    inlines = (TrackArtistInline,)


@admin.register(Play)
class PlayAdmin(admin.ModelAdmin[Play]):
    list_display = ("ended_at", "user", "track", "ms_played", "source", "counted", "skipped")
    list_filter = ("source", "counted", "skipped")
    search_fields = ("user__username", "track__name", "track__uri")
    list_select_related = ("user", "track")
    raw_id_fields = ("track",)
    date_hierarchy = "ended_at"


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin[JobRun]):
    list_display = ("created_at", "kind", "status", "started_at", "finished_at")
    list_filter = ("kind", "status")
    readonly_fields = ("created_at",)


@admin.register(SpotifyAccount)
class SpotifyAccountAdmin(admin.ModelAdmin[SpotifyAccount]):
    list_display = (
        "user",
        "display_name",
        "status",
        "poll_mode",
        "polling_paused",
        "last_success_at",
        "failure_kind",
        "failure_count",
        "consented_at",
    )
    list_filter = ("status", "poll_mode", "polling_paused", "failure_kind")
    search_fields = ("user__username", "display_name", "spotify_user_id")
    list_select_related = ("user",)
    # Tokens are never shown, not even encrypted.
    exclude = ("access_token_encrypted", "refresh_token_encrypted", "tracking_state")
    readonly_fields = (
        "user",
        "spotify_user_id",
        "display_name",
        "scope",
        "consented_at",
        "access_token_expires_at",
        "slot",
        "linked_at",
        "next_poll_at",
        "realtime_due_at",
        "history_due_at",
        "claimed_until",
        "history_cursor_ms",
        "last_poll_at",
        "last_success_at",
        "failure_kind",
        "failure_count",
        "last_error",
    )
    actions = ("pause_polling", "resume_polling", "poll_now")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # links are made by their users through Spotify

    @admin.action(description="Pause polling")
    def pause_polling(self, request: HttpRequest, queryset: QuerySet[SpotifyAccount]) -> None:
        count = queryset.update(polling_paused=True)
        self.message_user(request, f"Paused polling of {count} account(s).", messages.SUCCESS)

    @admin.action(description="Resume polling")
    def resume_polling(self, request: HttpRequest, queryset: QuerySet[SpotifyAccount]) -> None:
        count = queryset.update(polling_paused=False)
        self.message_user(request, f"Resumed polling of {count} account(s).", messages.SUCCESS)

    @admin.action(description="Poll now (also ends any backoff)")
    def poll_now(self, request: HttpRequest, queryset: QuerySet[SpotifyAccount]) -> None:
        now = timezone.now()
        count = queryset.update(next_poll_at=now, realtime_due_at=now, history_due_at=now)
        self.message_user(
            request, f"{count} account(s) will be polled within seconds.", messages.SUCCESS
        )


@admin.register(SpotifyWaitlistEntry)
class SpotifyWaitlistAdmin(admin.ModelAdmin[SpotifyWaitlistEntry]):
    list_display = ("user", "created_at", "admitted_at")
    list_filter = (("admitted_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    readonly_fields = ("user", "created_at", "admitted_at")
    actions = ("admit",)

    @admin.action(description="Admit: let them link Spotify past the cap")
    def admit(self, request: HttpRequest, queryset: QuerySet[SpotifyWaitlistEntry]) -> None:
        count = accounts.spotify_waitlist_admit(entries=list(queryset))
        self.message_user(request, f"Admitted {count} user(s).", messages.SUCCESS)
