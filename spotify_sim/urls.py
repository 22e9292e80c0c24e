"""The simulator's URLs. Mount with ``path("spotify-sim/", include(...))``: the accounts service is
then at ``spotify-sim/accounts/``, the Web API at ``spotify-sim/v1/``, the control API at
``spotify-sim/_control/``."""

from __future__ import annotations

from django.urls import path, re_path

from spotify_sim import accounts_views, api_views, control_views, images

app_name = "spotify_sim"

urlpatterns = [
    path("", control_views.index, name="root"),
    path("images/<str:kind>/<str:ident>/<int:size>.jpg", images.image, name="image"),
    path("accounts/authorize", accounts_views.authorize, name="authorize"),
    path("accounts/api/token", accounts_views.token, name="token"),
    # Spotify accepts a trailing slash (spotipy asks for "me/").
    re_path(r"^v1/me/?$", api_views.me, name="me"),
    re_path(r"^v1/me/player/?$", api_views.player, name="player"),
    re_path(
        r"^v1/me/player/currently-playing/?$",
        api_views.currently_playing,
        name="currently-playing",
    ),
    re_path(r"^v1/me/player/recently-played/?$", api_views.recently_played, name="recently-played"),
    re_path(r"^v1/me/playlists/?$", api_views.my_playlists, name="my-playlists"),
    re_path(r"^v1/tracks/(?P<track_id>[^/]+)/?$", api_views.track, name="track"),
    re_path(r"^v1/artists/(?P<artist_id>[^/]+)/?$", api_views.artist, name="artist"),
    re_path(r"^v1/albums/(?P<album_id>[^/]+)/?$", api_views.album, name="album"),
    re_path(
        r"^v1/albums/(?P<album_id>[^/]+)/tracks/?$", api_views.album_tracks, name="album-tracks"
    ),
    re_path(
        r"^v1/playlists/(?P<playlist_id>[^/]+)/items/?$",
        api_views.playlist_items,
        name="playlist-items",
    ),
    re_path(r"^v1/(?P<rest>.*)$", api_views.unknown_endpoint, name="unknown"),
    path("_control/reset", control_views.reset, name="control-reset"),
    path("_control/clock", control_views.clock, name="control-clock"),
    path("_control/accounts", control_views.accounts, name="control-accounts"),
    path("_control/accounts/<str:account_id>", control_views.account, name="control-account"),
    path(
        "_control/accounts/<str:account_id>/tokens",
        control_views.account_tokens,
        name="control-tokens",
    ),
    path(
        "_control/accounts/<str:account_id>/revoke",
        control_views.account_revoke,
        name="control-revoke",
    ),
    path(
        "_control/accounts/<str:account_id>/requests",
        control_views.account_requests,
        name="control-requests",
    ),
    path(
        "_control/accounts/<str:account_id>/plays",
        control_views.account_plays,
        name="control-plays",
    ),
    path(
        "_control/accounts/<str:account_id>/segments",
        control_views.account_segments,
        name="control-segments",
    ),
    path("_control/faults", control_views.faults, name="control-faults"),
    path("_control/faults/clear", control_views.faults_clear, name="control-faults-clear"),
    path("_control/faults/<int:fault_id>", control_views.fault, name="control-fault"),
    path("_control/clients", control_views.clients, name="control-clients"),
]
