"""Request plumbing: request ids and the access log, and static files.

Every request gets an id: taken from a sane incoming X-Request-ID (set by nginx or a load
balancer, so their logs and ours join up) or made here. Its log lines carry it, the response
returns it, and one access log line says how it went (path only: query strings can hold
tokens, which is why the web server runs without its own access log)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.decorators import sync_and_async_middleware
from whitenoise.middleware import WhiteNoiseMiddleware

from ops.logs import current_request_id

HEADER = "X-Request-ID"
# Ids other systems make (UUIDs, nginx's $request_id, AWS trace ids) fit; anything else (too
# long, spaces, quotes, newlines that would forge log lines) is replaced by one of ours.
_SANE = re.compile(r"[A-Za-z0-9._:=-]{8,128}")

access_log = logging.getLogger("encore.access")


def request_id_for(incoming: str | None) -> str:
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def _log(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    # Requests a person need not read (Encore's own worker calling the bundled simulator several
    # times a minute) are logged at DEBUG: LOG_LEVEL=DEBUG shows them.
    quiet = request.path.startswith(tuple(settings.ACCESS_LOG_QUIET_PREFIXES))
    access_log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


@sync_and_async_middleware
def request_id(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    # Async too, so that async views (media, event streams) are not pushed into a thread by it.
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            rid = request_id_for(request.headers.get(HEADER))
            token = current_request_id.set(rid)
            try:
                response: Awaitable[HttpResponseBase] = get_response(request)
                answer = await response
                answer[HEADER] = rid
                _log(request, answer, started)
                return answer
            finally:
                current_request_id.reset(token)

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        rid = request_id_for(request.headers.get(HEADER))
        token = current_request_id.set(rid)
        try:
            response: HttpResponseBase = get_response(request)
            response[HEADER] = rid
            _log(request, response, started)
            return response
        finally:
            current_request_id.reset(token)

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
