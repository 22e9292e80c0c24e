from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.signin import sign_in_limited
from config.simulator import simulator_urlpatterns

urlpatterns = [
    # The admin's sign-in, rate-limited like the site's (before admin/ so that it wins).
    path("admin/login/", sign_in_limited(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    path("", include("dashboard.urls")),
    path("", include("accounts.urls")),
    path("", include("scrobbler.urls")),
    path("", include("imports.urls")),
    path("", include("playback.urls")),
    path("", include("ops.urls")),
]

if settings.SPOTIFY_SIMULATOR:  # the bundled Spotify simulator (demo mode, tests, benchmarks)
    # Its control API for staff only (config/simulator.py).
    simulator = include((simulator_urlpatterns(), "spotify_sim"))
    urlpatterns.insert(0, path("spotify-sim/", simulator))
