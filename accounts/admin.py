"""The admin's users (with their Spotify link, and deletion with all their data), invites and
the waitlist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from accounts import account as account_service
from accounts import registration
from playback.admin import rescan_library
from scrobbler.admin import polling_pause, polling_resume, polling_sync_now
from scrobbler.models import (
    INVITE_DAYS,
    Invite,
    SpotifyAccount,
    SpotifyWaitlistEntry,
    User,
)
from scrobbler.spotify import accounts


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
        rescan_library,
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
    """Adding an invite makes its code (accounts.registration) and shows it once, as a message."""

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
