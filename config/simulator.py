"""The bundled Spotify simulator as Encore serves it at /spotify-sim/ (SPOTIFY_SIMULATOR, on in
demo mode). Its Web API and accounts service are open, as Spotify's are. Its control API
(``_control/...``: every simulated account, their request logs, fresh tokens, the clock and
faults) answers only signed-in active staff, with Django's CSRF check on their writes, or anyone
when SPOTIFY_SIMULATOR_CONTROL_OPEN is true (tests and benchmarks on a machine of one's own);
others get 403. The simulator run alone (``manage.py spotify_simulator``, tests/conftest.py's
server) keeps its control API open: it is a program of its own, and imports nothing from Encore,
so the gate is put around its views here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from spotify_sim import urls as simulator_urls

View = Callable[..., HttpResponse]
# The simulator names its control API's routes so (spotify_sim/urls.py).
CONTROL_ROUTE_PREFIX = "control-"


def control_gate(view: View) -> View:
    """``view`` for signed-in active staff, or anyone with SPOTIFY_SIMULATOR_CONTROL_OPEN; 403
    (the control API's error shape) otherwise. A staff session is a browser's: its writes must
    carry the CSRF token, which the simulator's views (exempt, for scripts) would not ask for."""
    checked = csrf_protect(lambda request, *args, **kwargs: view(request, *args, **kwargs))

    @csrf_exempt  # the open case; staff go through `checked`
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.SPOTIFY_SIMULATOR_CONTROL_OPEN:
            return view(request, *args, **kwargs)
        user = request.user
        if not (user.is_active and getattr(user, "is_staff", False)):
            error = "the simulator's control API is for staff only"
            return JsonResponse({"error": error}, status=403)
        response: HttpResponse = checked(request, *args, **kwargs)
        return response

    return gated


def simulator_urlpatterns() -> list[URLPattern]:
    """The simulator's URL patterns with its control API behind control_gate()."""
    patterns = []
    for pattern in simulator_urls.urlpatterns:
        if (pattern.name or "").startswith(CONTROL_ROUTE_PREFIX):
            gated = control_gate(pattern.callback)
            pattern = URLPattern(pattern.pattern, gated, pattern.default_args, pattern.name)
        patterns.append(pattern)
    return patterns
