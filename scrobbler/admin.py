from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from playback.library import library_scan_queue
from scrobbler import account as account_service
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


# --- Users -----------------------------------------------------------------------------------


class SpotifyLinkFilter(admin.SimpleListFilter):
    title = "Spotify link"
    parameter_name = "spotify"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [
            ("active", "Linked, not paused"),
            ("paused", "Polling paused"),
            ("failing", "Failing polls"),
            ("needs_relink", "Needs re-linking"),
            ("none", "Not linked"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        active = Q(spotify_account__status=SpotifyAccount.Status.ACTIVE)
        match self.value():
            case "active":
                return queryset.filter(active, spotify_account__polling_paused=False)
            case "paused":
                return queryset.filter(spotify_account__polling_paused=True)
            case "failing":
                return queryset.filter(active, spotify_account__failure_count__gt=0)
            case "needs_relink":
                return queryset.filter(spotify_account__status=SpotifyAccount.Status.NEEDS_RELINK)
            case "none":
                return queryset.filter(spotify_account__isnull=True)
        return queryset


def _link(user: User) -> SpotifyAccount | None:
    try:
        return user.spotify_account  # selected with the user: no query
    except SpotifyAccount.DoesNotExist:
        return None


@admin.register(User)
class EncoreUserAdmin(UserAdmin[User]):
    """Users with their Spotify link and its polling; deleting one deletes all their data."""

    readonly_fields = ("public_id",)
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Encore", {"fields": ("public_id",)}))
    list_display = (
        "username",
        "email",
        "is_staff",
        "spotify_link",
        "spotify_expires",
        "poll_mode",
        "last_poll",
        "failure",
    )
    list_filter = (
        SpotifyLinkFilter,
        "spotify_account__poll_mode",
        "spotify_account__failure_kind",
        "is_staff",
        "is_active",
    )
    list_select_related = ("spotify_account",)
    actions = (
        "pause_polling",
        "resume_polling",
        "sync_now",
        "rescan_library",
        "delete_with_all_data",
    )

    @admin.display(description="Spotify", ordering="spotify_account__status")
    def spotify_link(self, user: User) -> str:
        link = _link(user)
        if link is None:
            return "—"
        state = link.get_status_display()
        return f"{state}, paused" if link.polling_paused else state

    @admin.display(description="Spotify access ends", ordering="spotify_account__consented_at")
    def spotify_expires(self, user: User) -> datetime | None:
        link = _link(user)
        return accounts.refresh_token_expires_at(link) if link else None

    @admin.display(description="Polling", ordering="spotify_account__poll_mode")
    def poll_mode(self, user: User) -> str:
        link = _link(user)
        return link.get_poll_mode_display() if link else "—"

    @admin.display(description="Last poll", ordering="spotify_account__last_poll_at")
    def last_poll(self, user: User) -> datetime | None:
        link = _link(user)
        return link.last_poll_at if link else None

    @admin.display(description="Failing", ordering="spotify_account__failure_count")
    def failure(self, user: User) -> str:
        link = _link(user)
        if link is None or not link.failure_count:
            return ""
        return f"{link.get_failure_kind_display()}, {link.failure_count} in a row: {link.last_error[:80]}"

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        found = super().get_actions(request)
        # Django's own bulk delete would leave the users' uploaded files behind.
        found.pop("delete_selected", None)
        return found

    def _links(self, users: QuerySet[User]) -> QuerySet[SpotifyAccount]:
        return SpotifyAccount.objects.filter(user__in=users)

    @admin.action(description="Pause polling Spotify")
    def pause_polling(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = polling_pause(self._links(queryset))
        self.message_user(request, f"Paused polling of {count} account(s).", messages.SUCCESS)

    @admin.action(description="Resume polling Spotify")
    def resume_polling(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = polling_resume(self._links(queryset))
        self.message_user(request, f"Resumed polling of {count} account(s).", messages.SUCCESS)

    @admin.action(description="Sync with Spotify now (also ends any backoff)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = polling_sync_now(self._links(queryset))
        self.message_user(
            request, f"{count} account(s) will be polled within seconds.", messages.SUCCESS
        )

    @admin.action(description="Re-scan the music library (shared by all users)")
    def rescan_library(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        library_scan_queue()
        self.message_user(request, "Library scan queued: a worker runs it.", messages.SUCCESS)

    @admin.action(
        description="Delete with all their data (plays, imports, devices…)",
        permissions=["delete"],
    )
    def delete_with_all_data(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        users = list(queryset.order_by("username"))
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Delete users with all their data?",
                "opts": self.model._meta,
                "users": [(user, account_service.account_contents(user=user)) for user in users],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/scrobbler/user/delete_all_data.html", context)
        self.log_deletions(request, queryset)
        for user in users:
            account_service.account_delete(user=user)
        self.message_user(
            request, f"Deleted {len(users)} user(s) and all their data.", messages.SUCCESS
        )
        return None

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        account_service.account_delete(user=obj)  # the user's files too, not only the rows


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


# The counts of each kind's details that its one-line summary shows, in this order.
JOB_RUN_SUMMARY = {
    JobRun.Kind.POLLS: ("ticks", "ticks_crashed", "polled", "plays"),
    JobRun.Kind.IMPORT: ("rows", "imported", "skipped"),
    JobRun.Kind.LIBRARY_SCAN: ("added", "updated", "renamed", "removed", "problem_count"),
    JobRun.Kind.WORKER_CHECK: ("hostname",),
}


def job_run_summary(job: JobRun) -> str:
    """The run's details on one line: its non-zero counts, failures by kind and its error."""
    details = job.details if isinstance(job.details, dict) else {}
    parts = [
        f"{key.replace('_', ' ')} {details[key]}"
        for key in JOB_RUN_SUMMARY.get(JobRun.Kind(job.kind), ())
        if details.get(key)
    ]
    failures = details.get("failures")
    if isinstance(failures, dict) and any(failures.values()):
        parts.append(
            "failures: " + ", ".join(f"{kind} {n}" for kind, n in sorted(failures.items()) if n)
        )
    if details.get("error"):
        parts.append(f"error: {details['error']}")
    return "; ".join(parts)


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin[JobRun]):
    """Background work (polls by the minute, imports, library scans, worker checks) with how
    long it took and how it went."""

    list_display = ("created_at", "kind", "status", "started_at", "duration", "summary")
    list_filter = ("kind", "status", "created_at")
    readonly_fields = ("created_at",)
    date_hierarchy = "created_at"
    change_list_template = "admin/scrobbler/jobrun/change_list.html"

    @admin.display(description="Duration")
    def duration(self, job: JobRun) -> str:
        seconds = job.duration_seconds
        return "" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="Summary")
    def summary(self, job: JobRun) -> str:
        return job_run_summary(job)

    def get_urls(self) -> list[URLPattern]:
        scan = path(
            "scan-library/",
            self.admin_site.admin_view(require_POST(self.scan_library_view)),
            name="scrobbler_jobrun_scan_library",
        )
        return [scan, *super().get_urls()]

    def scan_library_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        library_scan_queue()
        self.message_user(request, "Library scan queued: a worker runs it.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:scrobbler_jobrun_changelist"))


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
