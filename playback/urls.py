from __future__ import annotations

from django.urls import path

from playback import api_views, browse_views, consumers, library_views

urlpatterns = [
    path("library/", library_views.library, name="library"),
    path("library/albums/<int:album_id>/", browse_views.album, name="library-album"),
    path("library/artists/", browse_views.artists, name="library-artists"),
    path("library/artists/<int:artist_id>/", browse_views.artist, name="library-artist"),
    path("library/tracks/", browse_views.tracks, name="library-tracks"),
    path("library/covers/<str:cover_key>/<int:size>/", library_views.cover, name="library-cover"),
    path("events", consumers.event_stream, name="events"),
    path("api/devices", api_views.devices, name="api-devices"),
    path("api/sessions/me", api_views.session_snapshot, name="api-session"),
    path("api/sessions/me/<slug:action>", api_views.session_control, name="api-session-control"),
    path("api/media/tokens", api_views.media_token_mint, name="api-media-token"),
]
