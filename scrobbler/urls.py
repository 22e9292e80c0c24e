from __future__ import annotations

from django.urls import path

from scrobbler.spotify import views as spotify_views

urlpatterns = [
    path("spotify/", spotify_views.spotify_account, name="spotify-account"),
    path("spotify/link", spotify_views.spotify_link, name="spotify-link"),
    path("spotify/callback", spotify_views.spotify_callback, name="spotify-callback"),
    path("spotify/unlink", spotify_views.spotify_unlink, name="spotify-unlink"),
]
