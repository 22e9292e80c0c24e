"""Project middleware: times in the signed-in user's own time zone; static files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.decorators import sync_and_async_middleware
from whitenoise.middleware import WhiteNoiseMiddleware


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


class StaticFiles(WhiteNoiseMiddleware):
    """WhiteNoise (static files without a front server), usable in async requests too.

    WhiteNoise is sync-only, and one sync-only middleware makes Django run every request's whole
    chain on a thread of its own and hop back for async views: media streaming and the event
    stream would pay that on every request. Finding a static file is a dictionary lookup, so in
    async requests it is done in place."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._async_call(request)
        return super().__call__(request)

    async def _async_call(self, request: HttpRequest) -> HttpResponseBase:
        if self.autorefresh:  # DEBUG: looks on disk, as WhiteNoise itself does
            static_file = self.find_file(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            response: HttpResponseBase = self.serve(static_file, request)
            return response
        answer: HttpResponseBase = await self.get_response(request)
        return answer
