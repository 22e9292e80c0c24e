from __future__ import annotations

from django.urls import path

from dashboard import global_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/<slug:name>/", views.section, name="dashboard-section"),
    path("top/<slug:kind>/", views.top, name="top"),
    path("when/", views.when, name="when"),
    path("habits/", views.habits, name="habits"),
    path("year/<int:year>/", views.year_review, name="year-review"),
    path("on-this-day/", views.on_this_day, name="on-this-day"),
    path("recent/", views.recent, name="recent"),
    path("tracks/<int:entity_id>/", views.entity, {"kind": "track"}, name="track"),
    path("artists/<int:entity_id>/", views.entity, {"kind": "artist"}, name="artist"),
    path("albums/<int:entity_id>/", views.entity, {"kind": "album"}, name="album"),
    path("favourites/", views.favourites, name="favourites"),
    path("global/", global_views.global_stats_view, name="global-stats"),
    path("tracks/<int:track_id>/like", views.track_like, name="track-like"),
    path("tracks/<int:track_id>/unlike", views.track_unlike, name="track-unlike"),
]
