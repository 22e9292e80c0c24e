from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

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
        "slot",
        "consented_at",
        "access_token_expires_at",
    )
    list_filter = ("status",)
    search_fields = ("user__username", "display_name", "spotify_user_id")
    list_select_related = ("user",)
    # Tokens are never shown, not even encrypted.
    exclude = ("access_token_encrypted", "refresh_token_encrypted")
    readonly_fields = (
        "user",
        "spotify_user_id",
        "display_name",
        "scope",
        "consented_at",
        "access_token_expires_at",
        "slot",
        "linked_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # links are made by their users through Spotify


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
