from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, DjangoCaptureOnCommitCallbacks, Settings

from accounts import account
from imports.models import Import
from imports.services import import_create
from scrobbler import polling
from scrobbler.models import (
    EntityMonth,
    EntityTotal,
    Invite,
    ListeningHour,
    ListeningSession,
    Play,
    Playlist,
    PlaylistItem,
    PollMode,
    RollupDirty,
    RollupState,
    SpotifyAccount,
    TrackLike,
    User,
)
from scrobbler.plays import play_thresholds
from scrobbler.rollups import rollups_mark, rollups_refresh
from scrobbler.spotify.accounts import refresh_token_expires_at
from tests.conftest import PASSWORD
from tests.factories import PlayFactory, TrackFactory, UserFactory
from tests.scrobbler.spotify_helpers import linked_account

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def import_dir(settings: Settings, tmp_path: Path) -> Path:
    folder = tmp_path / "imports"
    settings.IMPORT_DIR = folder
    return folder


@pytest.fixture
def as_alice(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def messages_of(response: object) -> list[str]:
    return [str(m) for m in response.context["messages"]]  # type: ignore[attr-defined]


# --- The page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "account-settings",
        "account-time-zone",
        "account-thresholds",
        "account-sharing",
        "account-poll-mode",
        "account-polling-pause",
        "account-polling-resume",
        "account-delete",
    ],
)
def test_anonymous_users_are_sent_to_sign_in(client: Client, name: str) -> None:
    url = reverse(name)
    response = client.get(url) if name == "account-settings" else client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_forms_only_accept_posts(as_alice: Client) -> None:
    assert as_alice.get(reverse("account-time-zone")).status_code == 405
    assert as_alice.post(reverse("account-settings")).status_code == 405


def test_the_page_shows_my_settings_in_bounded_queries(
    as_alice: Client, alice: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    alice.time_zone = "Europe/Paris"
    alice.play_min_seconds = 45
    alice.save()
    linked_account(alice, display_name="Alice on Spotify", poll_mode=PollMode.HISTORY)
    with django_assert_max_num_queries(7):
        response = as_alice.get(reverse("account-settings"))
    html = response.content.decode()
    assert '<option value="Europe/Paris" selected>' in html
    assert 'name="play_min_seconds" value="45"' in html
    assert '<option value="history" selected>' in html
    assert "Alice on Spotify" in html
    assert reverse("account-polling-pause") in html
    assert reverse("spotify-unlink") in html
    for kind in ("csv", "json", "listenbrainz"):
        assert reverse("export", args=[kind]) in html
    assert reverse("imports") in html
    assert "js/timezone.js" in html
    assert "<script>" not in html  # no inline script: the CSP will forbid them


def test_the_base_navigation_links_to_settings(as_alice: Client) -> None:
    assert f'href="{reverse("account-settings")}"' in as_alice.get(reverse("favourites")).text


def test_the_spotify_link_shows_when_its_permission_ends(as_alice: Client, alice: User) -> None:
    account_ = linked_account(alice, consented_at=timezone.now() - dt.timedelta(days=10))
    html = as_alice.get(reverse("account-settings")).content.decode()
    ends = refresh_token_expires_at(account_)
    assert f'<time datetime="{ends.isoformat()}">{ends.day} {ends:%B %Y}</time>' in html


def test_a_link_needing_relink_says_so(as_alice: Client, alice: User) -> None:
    linked_account(alice, status=SpotifyAccount.Status.NEEDS_RELINK)
    html = as_alice.get(reverse("account-settings")).content.decode()
    assert "Link Spotify again" in html


def test_without_spotify_the_page_explains_and_offers_to_link(as_alice: Client) -> None:
    html = as_alice.get(reverse("account-settings")).content.decode()
    assert "Spotify is not linked" in html
    assert reverse("spotify-link") in html
    assert reverse("account-polling-pause") not in html


def test_the_browser_zone_is_offered_only_while_mine_is_utc(as_alice: Client, alice: User) -> None:
    assert "data-tz-suggest" in as_alice.get(reverse("account-settings")).text
    alice.time_zone = "Asia/Tokyo"
    alice.save()
    assert "data-tz-suggest" not in as_alice.get(reverse("account-settings")).text


def test_the_time_zone_script_is_served(as_alice: Client) -> None:
    from django.contrib.staticfiles import finders

    script = finders.find("js/timezone.js")
    assert script is not None
    assert "resolvedOptions().timeZone" in Path(str(script)).read_text()


# --- Time zone -----------------------------------------------------------------------------------


def test_changing_the_time_zone_rebuilds_the_rollups_in_it(
    as_alice: Client,
    alice: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    # 23:30 UTC is the next day in Tokyo.
    PlayFactory.create(user=alice, ended_at=dt.datetime(2024, 3, 1, 23, 30, tzinfo=dt.UTC))
    rollups_refresh(alice.pk)
    assert RollupState.objects.get(user=alice).time_zone == "UTC"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = as_alice.post(
            reverse("account-time-zone"), {"time_zone": "Asia/Tokyo"}, follow=True
        )
    assert len(callbacks) == 1
    alice.refresh_from_db()
    assert alice.time_zone == "Asia/Tokyo"
    assert RollupState.objects.get(user=alice).time_zone == "Asia/Tokyo"
    (hour,) = ListeningHour.objects.filter(user=alice)
    assert hour.hour == 8  # 23:30 UTC + 9 h
    assert "Time zone saved: your dashboard is being recomputed in Asia/Tokyo." in (
        messages_of(response)
    )


def test_the_same_time_zone_again_rebuilds_nothing(
    as_alice: Client, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        as_alice.post(reverse("account-time-zone"), {"time_zone": "UTC"})
    assert callbacks == []


def test_while_the_rebuild_is_queued_the_page_says_so(
    as_alice: Client,
    alice: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    PlayFactory.create(user=alice)
    rollups_refresh(alice.pk)
    with django_capture_on_commit_callbacks(execute=False):  # no worker has run it yet
        response = as_alice.post(
            reverse("account-time-zone"), {"time_zone": "America/Lima"}, headers=HX
        )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="settings-time-zone"')
    assert "being recomputed in America/Lima" in html


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "localtime", "europe/paris"])
def test_an_unknown_time_zone_is_refused(as_alice: Client, alice: User, zone: str) -> None:
    response = as_alice.post(reverse("account-time-zone"), {"time_zone": zone})
    assert response.status_code == 200
    assert response.context["time_zone_form"].errors["time_zone"]
    alice.refresh_from_db()
    assert alice.time_zone == "UTC"


def test_the_service_refuses_an_unknown_zone_too(alice: User) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        account.account_time_zone_set(user=alice, time_zone="Nowhere/Land")


def test_every_offered_zone_is_a_real_one() -> None:
    from zoneinfo import ZoneInfo

    zones = account.time_zones()
    assert list(zones) == sorted(zones)
    assert "Europe/Paris" in zones
    assert "localtime" not in zones
    for zone in zones:
        ZoneInfo(zone)


# --- Counting thresholds -------------------------------------------------------------------------


def test_thresholds_are_saved_and_used_by_polling(
    as_alice: Client, alice: User, settings: Settings
) -> None:
    settings.PLAY_MIN_MS = 30_000
    settings.PLAY_MIN_RATIO = None
    response = as_alice.post(
        reverse("account-thresholds"),
        {"play_min_seconds": "90", "play_min_percent": "50"},
        follow=True,
    )
    assert any("from now on" in m for m in messages_of(response))
    alice.refresh_from_db()
    assert (alice.play_min_seconds, alice.play_min_percent) == (90, 50)
    assert play_thresholds(alice.pk) == (90_000, 0.5)


def test_blank_thresholds_fall_back_to_the_site_defaults(
    as_alice: Client, alice: User, settings: Settings
) -> None:
    settings.PLAY_MIN_MS = 30_000
    settings.PLAY_MIN_RATIO = 0.4
    alice.play_min_seconds, alice.play_min_percent = 90, 50
    alice.save()
    page = as_alice.get(reverse("account-settings")).content.decode()
    as_alice.post(reverse("account-thresholds"), {"play_min_seconds": "", "play_min_percent": ""})
    alice.refresh_from_db()
    assert (alice.play_min_seconds, alice.play_min_percent) == (None, None)
    assert play_thresholds(alice.pk) == (30_000, 0.4)
    assert "this server's default, 30 s" in page
    assert "this server's default, 40 %" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("play_min_seconds", "4"),
        ("play_min_seconds", "601"),
        ("play_min_seconds", "-10"),
        ("play_min_seconds", "ten"),
        ("play_min_percent", "0"),
        ("play_min_percent", "101"),
    ],
)
def test_out_of_range_thresholds_are_refused(
    as_alice: Client, alice: User, field: str, value: str
) -> None:
    response = as_alice.post(reverse("account-thresholds"), {field: value}, headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="settings-thresholds"')
    assert 'class="errorlist' in html
    alice.refresh_from_db()
    assert (alice.play_min_seconds, alice.play_min_percent) == (None, None)


def test_the_threshold_service_checks_its_ranges(alice: User) -> None:
    with pytest.raises(ValueError, match="outside"):
        account.account_thresholds_set(user=alice, play_min_seconds=1, play_min_percent=None)


# --- Global stats opt-in -------------------------------------------------------------------------


def test_sharing_stats_is_opt_in_and_can_be_withdrawn(as_alice: Client, alice: User) -> None:
    assert alice.share_stats is False
    as_alice.post(reverse("account-sharing"), {"share_stats": "on"})
    alice.refresh_from_db()
    assert alice.share_stats is True
    response = as_alice.post(reverse("account-sharing"), {}, headers=HX)
    assert "no longer counts" in response.content.decode()
    alice.refresh_from_db()
    assert alice.share_stats is False


# --- Spotify polling -----------------------------------------------------------------------------


def test_polling_mode_is_saved(as_alice: Client, alice: User) -> None:
    account_ = linked_account(alice)
    as_alice.post(reverse("account-poll-mode"), {"poll_mode": "realtime"})
    account_.refresh_from_db()
    assert account_.poll_mode == PollMode.REALTIME
    response = as_alice.post(reverse("account-poll-mode"), {"poll_mode": "sometimes"})
    assert response.context["poll_mode_form"].errors["poll_mode"]
    account_.refresh_from_db()
    assert account_.poll_mode == PollMode.REALTIME


def test_pause_stops_polling_and_resume_polls_soon(as_alice: Client, alice: User) -> None:
    later = timezone.now() + dt.timedelta(hours=1)
    account_ = linked_account(alice, next_poll_at=later)
    response = as_alice.post(reverse("account-polling-pause"), follow=True)
    assert "Recording is paused" in " ".join(messages_of(response))
    assert "Resume recording" in response.content.decode()
    account_.refresh_from_db()
    assert account_.polling_paused is True
    assert polling.poll_claim_due(now=later + dt.timedelta(minutes=1), limit=10) == []

    before = timezone.now()
    response = as_alice.post(reverse("account-polling-resume"), headers=HX)
    assert "Pause recording" in response.content.decode()
    account_.refresh_from_db()
    assert account_.polling_paused is False
    assert before <= account_.next_poll_at <= timezone.now()
    assert polling.poll_claim_due(now=timezone.now(), limit=10) == [account_.pk]


def test_pausing_without_spotify_says_to_link_first(as_alice: Client) -> None:
    response = as_alice.post(reverse("account-polling-pause"), follow=True)
    assert messages_of(response) == ["Spotify is not linked: link it first."]


def test_my_settings_never_touch_another_users_account(
    as_alice: Client, alice: User, bob: User
) -> None:
    linked_account(alice)
    bobs = linked_account(bob)
    as_alice.post(reverse("account-polling-pause"))
    as_alice.post(reverse("account-poll-mode"), {"poll_mode": "history"})
    as_alice.post(reverse("account-time-zone"), {"time_zone": "Europe/Oslo"})
    bobs.refresh_from_db()
    bob.refresh_from_db()
    assert (bobs.polling_paused, bobs.poll_mode, bob.time_zone) == (False, "hybrid", "UTC")


# --- Delete all my data --------------------------------------------------------------------------


def _everything_of(user: User, import_dir: Path) -> Import:
    """Plays, rollups, an import with its uploaded file, a like, a playlist, a Spotify link."""
    tracks = [TrackFactory.create() for _ in range(3)]
    for n, track in enumerate(tracks):
        PlayFactory.create(user=user, track=track, ended_at=timezone.now() - dt.timedelta(days=n))
    rollups_refresh(user.pk)
    rollups_mark(user_id=user.pk, since=timezone.now(), until=timezone.now())
    imp = import_create(user=user, uploads=[SimpleUploadedFile("endsong_0.json", b"[]")])
    TrackLike.objects.create(user=user, track=tracks[0])
    playlist = Playlist.objects.create(
        user=user, spotify_id="p" * 22, name="Mine", scanned_at=timezone.now()
    )
    PlaylistItem.objects.create(playlist=playlist, track=tracks[1], position=0)
    linked_account(user)
    return imp


USER_TABLES = [
    Play,
    ListeningHour,
    EntityMonth,
    EntityTotal,
    ListeningSession,
    RollupState,
    RollupDirty,
    Import,
    TrackLike,
    Playlist,
    SpotifyAccount,
]


def test_deleting_my_account_removes_everything_of_mine_and_nothing_of_bobs(
    client: Client,
    alice: User,
    bob: User,
    import_dir: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    alices_import = _everything_of(alice, import_dir)
    bobs_import = _everything_of(bob, import_dir)
    Invite.objects.create(code_hash="x" * 64, used_by=alice, used_at=timezone.now())
    for model in USER_TABLES:
        assert model._default_manager.filter(user=alice).exists(), model
    alices_file = Path(alices_import.files[0]["path"])
    bobs_file = Path(bobs_import.files[0]["path"])
    assert alices_file.is_file()
    alice_id = alice.pk
    bobs_rows = {model: model._default_manager.filter(user=bob).count() for model in USER_TABLES}

    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account-delete"), {"password": PASSWORD, "username": "alice"}, follow=True
        )

    assert response.redirect_chain[-1][0] == reverse("home")
    assert response.context["user"].is_anonymous
    assert "The account alice and everything in it are deleted." in messages_of(response)
    assert not User.objects.filter(pk=alice_id).exists()
    for model in USER_TABLES:
        assert not model._default_manager.filter(user_id=alice_id).exists(), model
    assert not PlaylistItem.objects.filter(playlist__user_id=alice_id).exists()
    assert PlaylistItem.objects.filter(playlist__user=bob).count() == 1
    assert not alices_file.exists()
    assert not (import_dir / str(alices_import.public_id)).exists()
    assert {
        model: model._default_manager.filter(user=bob).count() for model in USER_TABLES
    } == bobs_rows
    assert bobs_file.is_file()
    assert Invite.objects.get().used_by is None  # the invite stays, as used


@pytest.mark.parametrize(
    ("password", "username", "field"),
    [
        ("wrong password", "alice", "password"),
        (PASSWORD, "bob", "username"),
        (PASSWORD, "Alice", "username"),
        (PASSWORD, "", "username"),
    ],
)
def test_deleting_needs_my_password_and_my_username(
    as_alice: Client, alice: User, bob: User, password: str, username: str, field: str
) -> None:
    PlayFactory.create(user=alice)
    response = as_alice.post(
        reverse("account-delete"), {"password": password, "username": username}
    )
    assert response.status_code == 200
    assert response.context["delete_form"].errors[field]
    assert User.objects.filter(pk=alice.pk).exists()
    assert Play.objects.filter(user=alice).count() == 1


def test_deleting_with_htmx_redirects_the_whole_page(as_alice: Client, alice: User) -> None:
    response = as_alice.post(
        reverse("account-delete"), {"password": "nope", "username": "alice"}, headers=HX
    )
    assert response.content.decode().lstrip().startswith('<section id="settings-delete"')
    response = as_alice.post(
        reverse("account-delete"), {"password": PASSWORD, "username": "alice"}, headers=HX
    )
    assert response["HX-Redirect"] == "/"
    assert not User.objects.filter(username="alice").exists()


def _history(plays: int) -> User:
    user = UserFactory.create()
    start = timezone.now() - dt.timedelta(days=plays)
    Play.objects.bulk_create(
        PlayFactory.build(
            user=user,
            track=TrackFactory.create(),
            ended_at=start + dt.timedelta(hours=n),
            started_at=start,
        )
        for n in range(plays)
    )
    rollups_refresh(user.pk)
    return user


def test_a_long_history_is_deleted_without_reading_it(
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    """Plays and rollups go in one DELETE per table, however many rows there are."""
    short, long = _history(2), _history(400)
    assert ListeningHour.objects.filter(user=long).count() == 400
    with CaptureQueriesContext(connection) as queries:
        account.account_delete(user=short)
    with django_assert_max_num_queries(len(queries)):
        account.account_delete(user=long)
    assert Play.objects.count() == 0
    assert ListeningHour.objects.count() == EntityMonth.objects.count() == 0
