from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from scrobbler import account_views, global_views, views
from scrobbler import dashboard_views as dashboard
from scrobbler.ratelimits import sign_in_limited
from scrobbler.spotify import views as spotify_views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/<slug:name>/", dashboard.section, name="dashboard-section"),
    path("top/<slug:kind>/", dashboard.top, name="top"),
    path("when/", dashboard.when, name="when"),
    path("habits/", dashboard.habits, name="habits"),
    path("year/<int:year>/", dashboard.year_review, name="year-review"),
    path("on-this-day/", dashboard.on_this_day, name="on-this-day"),
    path("recent/", dashboard.recent, name="recent"),
    path("tracks/<int:entity_id>/", dashboard.entity, {"kind": "track"}, name="track"),
    path("artists/<int:entity_id>/", dashboard.entity, {"kind": "artist"}, name="artist"),
    path("albums/<int:entity_id>/", dashboard.entity, {"kind": "album"}, name="album"),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        sign_in_limited(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("spotify/", spotify_views.spotify_account, name="spotify-account"),
    path("spotify/link", spotify_views.spotify_link, name="spotify-link"),
    path("spotify/callback", spotify_views.spotify_callback, name="spotify-callback"),
    path("spotify/unlink", spotify_views.spotify_unlink, name="spotify-unlink"),
    path("settings/", account_views.account_settings, name="account-settings"),
    path("settings/time-zone", account_views.time_zone_set, name="account-time-zone"),
    path("settings/thresholds", account_views.thresholds_set, name="account-thresholds"),
    path("settings/sharing", account_views.share_stats_set, name="account-sharing"),
    path("settings/spotify/mode", account_views.poll_mode_set, name="account-poll-mode"),
    path("settings/spotify/pause", account_views.polling_pause, name="account-polling-pause"),
    path("settings/spotify/resume", account_views.polling_resume, name="account-polling-resume"),
    path("settings/delete", account_views.account_delete, name="account-delete"),
    path("favourites/", views.favourites, name="favourites"),
    path("global/", global_views.global_stats_view, name="global-stats"),
    path("tracks/<int:track_id>/like", views.track_like, name="track-like"),
    path("tracks/<int:track_id>/unlike", views.track_unlike, name="track-unlike"),
    path("theme/", views.theme_set, name="theme-set"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("system/", views.system_status, name="system-status"),
    path("system/worker-check/", views.worker_check, name="worker-check"),
]
