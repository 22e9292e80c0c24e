"""The URLconf of the standalone simulator: only the simulator, at the same ``/spotify-sim/``
paths as inside Encore (so the same base URLs work for both)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("spotify-sim/", include("spotify_sim.urls"))]
