"""Rate limits (django-ratelimit, counted in the default cache) and the 429 answer past one."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

Key = str | Callable[[str, HttpRequest], str]


def limited(request: HttpRequest, *, group: str, key: Key, rate: str) -> int | None:
    """Count this request against `rate` for its `key`; past the limit, the seconds until the
    count starts again (None while within it)."""
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))


def too_many_requests(request: HttpRequest, *, message: str, retry_after: int) -> HttpResponse:
    """429 with the message: JSON for the API, else a page."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": message}, status=429)
    else:
        context = {"message": message, "minutes": -(-retry_after // 60)}
        response = render(request, "too_many_requests.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


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
