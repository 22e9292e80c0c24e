from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from scrobbler.models import Album, Artist, JobRun, Play, Track, TrackArtist, User


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
