"""The admin's catalog, plays and Spotify links, and the polling controls the users' page shares."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from scrobbler.models import (
    Album,
    Artist,
    Play,
    SpotifyAccount,
    Track,
    TrackArtist,
)

# --- Polling controls, shared by the users' and the Spotify links' pages -------------------------


def polling_pause(accounts_: QuerySet[SpotifyAccount]) -> int:
    return accounts_.update(polling_paused=True)


def polling_resume(accounts_: QuerySet[SpotifyAccount]) -> int:
    """Resumed accounts are due at once, so recording starts with the next poll."""
    return accounts_.update(polling_paused=False, next_poll_at=timezone.now())


def polling_sync_now(accounts_: QuerySet[SpotifyAccount]) -> int:
    """Due now on both endpoints, backoff ended: the poller takes them within a second."""
    now = timezone.now()
    return accounts_.update(next_poll_at=now, realtime_due_at=now, history_due_at=now)


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
    list_display = (
        "ended_at",
        "user",
        "track",
        "artists",
        "ms_played",
        "source",
        "counted",
        "skipped",
    )
    list_filter = ("source", "counted", "skipped")
    search_fields = ("user__username", "track__name", "track__artists__name", "track__uri")
    list_select_related = ("user", "track")
    raw_id_fields = ("user", "track")
    date_hierarchy = "ended_at"
    # Counting millions of plays for "N total" on every page view is not worth its time.
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Play]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("track__artists", queryset=Artist.objects.order_by("trackartist"))
            )
        )

    @admin.display(description="Artists")
    def artists(self, play: Play) -> str:
        return ", ".join(artist.name for artist in play.track.artists.all())


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
        count = polling_pause(queryset)
        self.message_user(request, f"Paused polling of {count} account(s).", messages.SUCCESS)

    @admin.action(description="Resume polling")
    def resume_polling(self, request: HttpRequest, queryset: QuerySet[SpotifyAccount]) -> None:
        count = polling_resume(queryset)
        self.message_user(request, f"Resumed polling of {count} account(s).", messages.SUCCESS)

    @admin.action(description="Poll now (also ends any backoff)")
    def poll_now(self, request: HttpRequest, queryset: QuerySet[SpotifyAccount]) -> None:
        count = polling_sync_now(queryset)
        self.message_user(
            request, f"{count} account(s) will be polled within seconds.", messages.SUCCESS
        )
