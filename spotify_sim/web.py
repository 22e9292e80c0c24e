"""HTTP plumbing shared by the simulator's views: responses, faults, request logs, API auth."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from spotify_sim.faults import FaultRule
from spotify_sim.state import (
    Account,
    RequestRecord,
    Simulator,
    get_simulator,
)

P = ParamSpec("P")


def simulator() -> Simulator:
    return get_simulator(getattr(settings, "SPOTIFY_SIMULATOR_CLOCK", "real"))


def mount_root(request: HttpRequest) -> str:
    """The path the simulator is mounted at, e.g. ``/spotify-sim/``."""
    return reverse("spotify_sim:root")


def endpoint_of(request: HttpRequest) -> str:
    """The request path below the mount point, e.g. ``v1/me/player`` (what fault rules match)."""
    return request.path.removeprefix(mount_root(request))


def api_base(request: HttpRequest) -> str:
    """The absolute base URL of the simulated Web API, without a trailing slash."""
    return request.build_absolute_uri(mount_root(request) + "v1")


def json_response(body: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def api_error(status: int, message: str) -> JsonResponse:
    """The Web API's error shape."""
    return json_response({"error": {"status": status, "message": message}}, status=status)


def oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    """The accounts service's error shape."""
    return json_response({"error": error, "error_description": description}, status=status)


def no_content() -> HttpResponse:
    response = HttpResponse(status=204)
    del response["Content-Type"]
    return response


_ERROR_MESSAGES = {500: "Server error", 502: "Bad gateway", 503: "Service unavailable"}


def fault_response(rule: FaultRule) -> HttpResponse | None:
    """What a fired rule answers instead of the endpoint (None for "slow", which only waits)."""
    if rule.kind == "rate_limit":
        response: HttpResponse = api_error(429, "API rate limit exceeded")
        if rule.retry_after is not None:
            response.headers[rule.retry_after_header] = str(rule.retry_after)
        return response
    if rule.kind == "error":
        message = _ERROR_MESSAGES.get(rule.status, "Server error")
        if rule.body == "html":
            page = f"<html><body><h1>{rule.status} {message}</h1></body></html>"
            return HttpResponse(page, status=rule.status, content_type="text/html")
        if rule.body == "empty":
            return HttpResponse(b"", status=rule.status)
        return api_error(rule.status, message)
    if rule.kind == "invalid_grant":
        return oauth_error("invalid_grant", "Refresh token revoked")
    if rule.kind == "no_content":
        return no_content()
    return None


def apply_faults(
    sim: Simulator, account: Account | None, request: HttpRequest
) -> tuple[HttpResponse | None, int | None]:
    """Fire the matching fault rules: sleep for "slow" ones, and return the replacing response
    (if any) with the id of the rule that decided it."""
    response, decided = None, None
    for rule in sim.take_faults(account.id if account else None, endpoint_of(request)):
        if rule.kind == "slow":
            time.sleep(rule.delay_ms / 1000)  # a real wait: the client's timeouts are under test
            decided = decided or rule.id
            continue
        response, decided = fault_response(rule), rule.id
    return response, decided


def log_request(
    sim: Simulator,
    account: Account | None,
    request: HttpRequest,
    *,
    at_ms: int,
    status: int,
    fault_id: int | None,
) -> None:
    record = RequestRecord(
        at_ms=at_ms,
        wall_ms=int(time.time() * 1000),
        method=request.method or "GET",
        endpoint=endpoint_of(request),
        query=request.META.get("QUERY_STRING", ""),
        status=status,
        fault_id=fault_id,
    )
    sim.log_request(account, record)


@dataclass(frozen=True)
class ApiContext:
    """What an authenticated Web API view gets: the account, the token's scopes, the simulator,
    the API's base URL and the simulator time the request arrived at."""

    account: Account
    scope: frozenset[str]
    sim: Simulator
    api: str
    now_ms: int


ApiView = Callable[Concatenate[HttpRequest, ApiContext, P], HttpResponse]


def api_view(
    *scopes: str,
) -> Callable[[ApiView[P]], Callable[Concatenate[HttpRequest, P], HttpResponse]]:
    """Wrap a GET Web API view: bearer auth (401), faults, scopes (403, any one of ``scopes``
    suffices), and the request log."""

    def decorate(view: ApiView[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            sim = simulator()
            now_ms = sim.now_ms()
            header = request.headers.get("Authorization", "")
            bearer = header[7:].strip() if header[:7].lower() == "bearer " else None
            auth = sim.authenticate(bearer)
            response, fault_id = apply_faults(sim, auth.account, request)
            if response is None:
                if request.method != "GET":
                    response = api_error(405, "Method not allowed")
                elif auth.error is not None or auth.account is None or auth.token is None:
                    response = api_error(401, auth.error or "Invalid access token")
                    detail = auth.error or "Invalid access token"
                    response.headers["WWW-Authenticate"] = (
                        f'Bearer realm="spotify", error="invalid_token", error_description="{detail}"'
                    )
                elif scopes and not set(scopes) & auth.token.scope:
                    response = api_error(403, "Insufficient client scope")
                else:
                    context = ApiContext(
                        auth.account, auth.token.scope, sim, api_base(request), now_ms
                    )
                    response = view(request, context, *args, **kwargs)
            log_request(
                sim,
                auth.account,
                request,
                at_ms=now_ms,
                status=response.status_code,
                fault_id=fault_id,
            )
            return response

        return wrapper

    return decorate


def query_int(
    request: HttpRequest, name: str, *, default: int | None, low: int, high: int
) -> int | None:
    """An integer query parameter within ``[low, high]``; ValueError names the parameter."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"Invalid {name}") from None
    if not low <= value <= high:
        raise ValueError(f"Invalid {name}")
    return value
