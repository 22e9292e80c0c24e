"""Times in the signed-in user's own time zone, for every request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.decorators import sync_and_async_middleware


def _activate(user: Any) -> None:
    zone = getattr(user, "time_zone", None)
    if zone:
        timezone.activate(ZoneInfo(zone))
    else:
        timezone.deactivate()


@sync_and_async_middleware
def user_time_zone(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    # Async too, so that async views (media streaming) are not pushed into a thread by it.
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            _activate(await request.auser())
            response: Awaitable[HttpResponse] = get_response(request)
            return await response

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponse:
        _activate(request.user)
        response: HttpResponse = get_response(request)
        return response

    return middleware
