from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import settings_views, views
from accounts.signin import sign_in_limited

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        sign_in_limited(views.SignInView.as_view()),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("settings/", settings_views.account_settings, name="account-settings"),
    path("settings/time-zone", settings_views.time_zone_set, name="account-time-zone"),
    path("settings/thresholds", settings_views.thresholds_set, name="account-thresholds"),
    path("settings/sharing", settings_views.share_stats_set, name="account-sharing"),
    path("settings/spotify/mode", settings_views.poll_mode_set, name="account-poll-mode"),
    path("settings/spotify/pause", settings_views.polling_pause, name="account-polling-pause"),
    path("settings/spotify/resume", settings_views.polling_resume, name="account-polling-resume"),
    path("settings/delete", settings_views.account_delete, name="account-delete"),
    path("theme/", views.theme_set, name="theme-set"),
]
