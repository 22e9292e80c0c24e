"""Times on every page in the signed-in user's own time zone."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


def user_time_zone(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        zone = getattr(request.user, "time_zone", None)
        if zone:
            timezone.activate(ZoneInfo(zone))
        else:
            timezone.deactivate()
        return get_response(request)

    return middleware
