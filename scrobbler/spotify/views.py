from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ops.query import QueryText, query_form, query_of
from scrobbler.http import signed_in_user
from scrobbler.models import SpotifyAccount, SpotifyWaitlistEntry
from scrobbler.spotify import accounts


@require_GET
@login_required
def spotify_account(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    account = SpotifyAccount.objects.filter(user=user).first()
    context = {
        "account": account,
        "refresh_expires_at": accounts.refresh_token_expires_at(account) if account else None,
        "expires_soon": accounts.refresh_token_expires_soon(account) if account else False,
        "waitlisted": SpotifyWaitlistEntry.objects.filter(
            user=user, admitted_at__isnull=True
        ).exists(),
        "demo_mode": settings.DEMO_MODE,
    }
    return render(request, "scrobbler/spotify_account.html", context)


@require_POST
@login_required
def spotify_link(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if not accounts.spotify_link_allowed(user=user):
        accounts.spotify_waitlist_join(user=user)
        return redirect("spotify-account")
    redirect_uri = settings.SPOTIFY_REDIRECT_URI or request.build_absolute_uri(
        reverse("spotify-callback")
    )
    return redirect(accounts.spotify_link_begin(session=request.session, redirect_uri=redirect_uri))


class CallbackQuery(forms.Form):
    """What Spotify's authorisation redirect carries (RFC 6749 4.1.2)."""

    state = QueryText(max_length=200)
    code = QueryText(max_length=2000)
    error = QueryText(max_length=200)


@require_GET
@login_required
@query_form(CallbackQuery)
def spotify_callback(request: HttpRequest) -> HttpResponse:
    query = query_of(request)
    try:
        accounts.spotify_link_complete(
            user=signed_in_user(request),
            session=request.session,
            state=query["state"],
            code=query["code"],
            error=query["error"],
        )
    except accounts.LinkWaitlisted:
        pass  # the account page explains the waitlist
    except accounts.LinkRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Spotify is linked: your plays are recorded from now on.")
    return redirect("spotify-account")


@require_POST
@login_required
def spotify_unlink(request: HttpRequest) -> HttpResponse:
    if accounts.spotify_unlink(user=signed_in_user(request)):
        messages.success(
            request, "Spotify is unlinked and its tokens are deleted. Your history stays."
        )
    return redirect("spotify-account")
