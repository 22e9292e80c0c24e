from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("scrobbler.urls")),
    path("", include("imports.urls")),
    path("", include("playback.urls")),
    path("", include("ops.urls")),
]

if settings.SPOTIFY_SIMULATOR:  # the bundled Spotify simulator (demo mode, tests, benchmarks)
    urlpatterns.insert(0, path("spotify-sim/", include("scrobbler.spotify.simulator.urls")))
