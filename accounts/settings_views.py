"""The Account settings page: one GET, and one POST per form, each for the signed-in user only.

Without JavaScript each POST redirects back to the page with a message (or shows the page again
with the form's errors); with HTMX it returns the form's own region of the page, saying what
happened in it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import account
from accounts.forms import (
    AccountDeleteForm,
    PollModeForm,
    ShareStatsForm,
    ThresholdsForm,
    TimeZoneForm,
)
from ops.http import HtmxHttpRequest
from scrobbler.http import signed_in_user
from scrobbler.models import SpotifyAccount, SpotifyWaitlistEntry, User
from scrobbler.rollups import rollups_stale
from scrobbler.spotify.accounts import refresh_token_expires_at, refresh_token_expires_soon

PAGE = "accounts/settings.html"
NO_SPOTIFY = "Spotify is not linked: link it first."


def _context(user: User, **forms: Form) -> dict[str, Any]:
    """Everything the page shows; `forms` replaces a form with one bound to what was posted."""
    spotify = SpotifyAccount.objects.filter(user=user).first()
    context: dict[str, Any] = {
        "time_zone_form": TimeZoneForm(initial={"time_zone": user.time_zone}),
        "recomputing": rollups_stale(user),
        "thresholds_form": ThresholdsForm(
            initial={
                "play_min_seconds": user.play_min_seconds,
                "play_min_percent": user.play_min_percent,
            }
        ),
        "sharing_form": ShareStatsForm(initial={"share_stats": user.share_stats}),
        "spotify": spotify,
        "poll_mode_form": PollModeForm(initial={"poll_mode": spotify.poll_mode})
        if spotify
        else None,
        "refresh_expires_at": refresh_token_expires_at(spotify) if spotify else None,
        "expires_soon": refresh_token_expires_soon(spotify) if spotify else False,
        "waitlisted": spotify is None
        and SpotifyWaitlistEntry.objects.filter(user=user, admitted_at__isnull=True).exists(),
        "demo_mode": settings.DEMO_MODE,
        "delete_form": AccountDeleteForm(user=user),
    }
    context.update(forms)
    return context


def _saved(request: HtmxHttpRequest, region: str, notice: str, *, ok: bool = True) -> HttpResponse:
    """A form was handled: its region, saying how (HTMX), or back to the page with a message."""
    if request.htmx:
        context = {**_context(signed_in_user(request)), "notice": notice, "notice_ok": ok}
        return render(request, f"{PAGE}#{region}", context)
    messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, notice)
    return redirect("account-settings")


def _invalid(request: HtmxHttpRequest, region: str, **forms: Form) -> HttpResponse:
    """A form was refused: its region (HTMX) or the page, with the errors in the form."""
    template = f"{PAGE}#{region}" if request.htmx else PAGE
    return render(request, template, _context(signed_in_user(request), **forms))


@require_GET
@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    return render(request, PAGE, _context(signed_in_user(request)))


@require_POST
@login_required
def time_zone_set(request: HtmxHttpRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return _invalid(request, "time-zone", time_zone_form=form)
    zone = form.cleaned_data["time_zone"]
    if not account.account_time_zone_set(user=signed_in_user(request), time_zone=zone):
        return _saved(request, "time-zone", f"Your time zone was already {zone}.")
    return _saved(
        request,
        "time-zone",
        f"Time zone saved: your dashboard is being recomputed in {zone}.",
    )


@require_POST
@login_required
def thresholds_set(request: HtmxHttpRequest) -> HttpResponse:
    form = ThresholdsForm(request.POST)
    if not form.is_valid():
        return _invalid(request, "thresholds", thresholds_form=form)
    account.account_thresholds_set(
        user=signed_in_user(request),
        play_min_seconds=form.cleaned_data["play_min_seconds"],
        play_min_percent=form.cleaned_data["play_min_percent"],
    )
    return _saved(request, "thresholds", "Saved: plays recorded from now on count this way.")


@require_POST
@login_required
def share_stats_set(request: HtmxHttpRequest) -> HttpResponse:
    form = ShareStatsForm(request.POST)
    if not form.is_valid():
        return _invalid(request, "sharing", sharing_form=form)
    share = form.cleaned_data["share_stats"]
    account.account_share_stats_set(user=signed_in_user(request), share_stats=share)
    return _saved(
        request,
        "sharing",
        "Your listening counts in the Global stats, anonymously."
        if share
        else "Your listening no longer counts in the Global stats.",
    )


@require_POST
@login_required
def poll_mode_set(request: HtmxHttpRequest) -> HttpResponse:
    form = PollModeForm(request.POST)
    if not form.is_valid():
        return _invalid(request, "spotify", poll_mode_form=form)
    if not account.spotify_poll_mode_set(
        user=signed_in_user(request), poll_mode=form.cleaned_data["poll_mode"]
    ):
        return _saved(request, "spotify", NO_SPOTIFY, ok=False)
    return _saved(request, "spotify", "Polling mode saved.")


@require_POST
@login_required
def polling_pause(request: HtmxHttpRequest) -> HttpResponse:
    if not account.spotify_polling_pause(user=signed_in_user(request), paused=True):
        return _saved(request, "spotify", NO_SPOTIFY, ok=False)
    return _saved(request, "spotify", "Recording is paused: Encore stops asking Spotify.")


@require_POST
@login_required
def polling_resume(request: HtmxHttpRequest) -> HttpResponse:
    if not account.spotify_polling_pause(user=signed_in_user(request), paused=False):
        return _saved(request, "spotify", NO_SPOTIFY, ok=False)
    return _saved(request, "spotify", "Recording again: your plays are recorded from now on.")


@require_POST
@login_required
def account_delete(request: HtmxHttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = AccountDeleteForm(request.POST, user=user)
    if not form.is_valid():
        return _invalid(request, "delete", delete_form=form)
    username = user.username
    account.account_delete(user=user)
    logout(request)
    messages.success(request, f"The account {username} and everything in it are deleted.")
    if request.htmx:
        return HttpResponseClientRedirect("/")
    return redirect("home")
