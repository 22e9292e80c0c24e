from __future__ import annotations

from django.urls import path

from scrobbler import pictures_views
from scrobbler.spotify import views as spotify_views

urlpatterns = [
    path("pictures/<str:key>/<int:size>.jpg", pictures_views.picture, name="picture"),
    path("spotify/", spotify_views.spotify_account, name="spotify-account"),
    path("spotify/link", spotify_views.spotify_link, name="spotify-link"),
    path("spotify/callback", spotify_views.spotify_callback, name="spotify-callback"),
    path("spotify/unlink", spotify_views.spotify_unlink, name="spotify-unlink"),
]
