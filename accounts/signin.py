"""Sign-in protection: a rate limit on sign-in attempts (per address and per username) and the
page django-axes shows while a username is locked out after failures."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from ops.ratelimits import limited, too_many_requests


def posted_username(group: str, request: HttpRequest) -> str:
    """The username a sign-in form names, as a rate-limit key (case folded: one person)."""
    return request.POST.get("username", "").strip().casefold()


def sign_in_limited(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A sign-in view whose POSTs are rate-limited per client address and per username (the
    lockout after failures is django-axes'; this caps guessing across usernames and addresses)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            retry_after = max(
                limited(request, group="sign-in-ip", key="ip", rate=settings.SIGN_IN_RATE_PER_IP)
                or 0,
                limited(
                    request,
                    group="sign-in-username",
                    key=posted_username,
                    rate=settings.SIGN_IN_RATE_PER_USERNAME,
                )
                or 0,
            )
            if retry_after:
                return too_many_requests(
                    request,
                    message="Too many sign-in attempts. Wait a little, then try again.",
                    retry_after=retry_after,
                )
        return view(request, *args, **kwargs)

    return wrapper


def sign_in_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """django-axes' answer to a sign-in while its username and address are locked out."""
    username = ""
    if isinstance(credentials, dict):
        username = str(credentials.get("username") or "")
    context = {
        "username": username or request.POST.get("username", ""),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "registration/locked_out.html", context, status=429)
