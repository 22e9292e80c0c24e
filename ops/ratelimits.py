"""Rate limits (django-ratelimit, counted in the default cache) and the 429 answer past one."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
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


def limited_next(request: HttpRequest, *, group: str, key: Key, rate: str) -> int | None:
    """What `limited` would answer for one more request, without counting it: the seconds until
    the count starts again if it would be refused (None if it would be let through)."""
    usage = get_usage(request, group=group, key=key, rate=rate, increment=False)
    if usage is None or usage["count"] < usage["limit"]:
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
