from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from scrobbler import registration
from scrobbler.models import (
    INVITE_DAYS,
    Album,
    Artist,
    Invite,
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


class InviteAddForm(forms.ModelForm[Invite]):
    days = forms.IntegerField(
        min_value=1,
        max_value=registration.INVITE_MAX_DAYS,
        initial=INVITE_DAYS,
        help_text="How many days the invite can be used for.",
    )

    class Meta:
        model = Invite
        fields = ("note",)


class InviteStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [(status.value, status.label) for status in Invite.Status]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        invites = Invite.objects.filter(pk__in=queryset.values("pk"))
        match self.value():
            case Invite.Status.UNUSED:
                return invites.redeemable(now=now)
            case Invite.Status.USED:
                return invites.used()
            case Invite.Status.EXPIRED:
                return invites.expired(now=now)
        return queryset


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin[Invite]):
    """Adding an invite makes its code (scrobbler.registration) and shows it once, as a message."""

    list_display = ("__str__", "status", "created_by", "created_at", "expires_at", "used_by")
    list_filter = (InviteStatusFilter,)
    list_select_related = ("created_by", "used_by")
    search_fields = ("note", "created_by__username", "used_by__username")
    ordering = ("-created_at",)
    actions = ("revoke",)

    def get_form(
        self, request: HttpRequest, obj: Invite | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Invite]]:
        if obj is None:
            kwargs["form"] = InviteAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Invite | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("note", "days")
        return ("note", *self.get_readonly_fields(request, obj))

    def get_readonly_fields(self, request: HttpRequest, obj: Invite | None = None) -> list[str]:
        if obj is None:
            return []
        return ["status", "created_by", "created_at", "expires_at", "used_by", "used_at"]

    @admin.display(description="Status")
    def status(self, invite: Invite) -> str:
        return invite.status_at(timezone.now()).label

    def save_model(self, request: HttpRequest, obj: Invite, form: Any, change: bool) -> None:
        if change:  # only the note can change
            super().save_model(request, obj, form, change)
            return
        assert isinstance(request.user, User)  # the admin is for signed-in staff only
        new = registration.invite_create(
            created_by=request.user, note=obj.note, days=form.cleaned_data["days"]
        )
        # The admin goes on to log and link to `obj`: make it the invite just stored.
        obj.pk = new.invite.pk
        obj.refresh_from_db()
        link = request.build_absolute_uri(new.signup_path)
        self.message_user(
            request,
            format_html(
                'Invite code <code>{}</code>, sign-up link <a href="{}">{}</a>. '
                "Copy it now: it is shown only this once.",
                new.code,
                link,
                link,
            ),
            messages.SUCCESS,
        )

    @admin.action(description="Revoke: expire the selected unused invites now")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invite]) -> None:
        count = registration.invite_revoke(invites=queryset)
        self.message_user(request, f"Revoked {count} invite(s).", messages.SUCCESS)
