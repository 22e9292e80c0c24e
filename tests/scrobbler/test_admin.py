from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from imports.models import Import
from imports.services import import_create
from ops.models import JobRun
from playback.models import Device, PlaybackSession
from scrobbler.models import Play, SpotifyAccount, SpotifyWaitlistEntry, TrackLike, User
from tests.factories import ArtistFactory, PlayFactory, TrackFactory, UserFactory
from tests.scrobbler.spotify_helpers import linked_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client: Client) -> Client:
    client.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    return client


def test_spotify_account_page_never_shows_tokens(admin_client_: Client, alice: User) -> None:
    account = linked_account(alice)
    page = admin_client_.get(reverse("admin:scrobbler_spotifyaccount_change", args=[account.pk]))
    assert page.status_code == 200
    assert "access-alice" not in page.text
    assert "refresh-alice" not in page.text
    assert account.access_token_encrypted not in page.text


def test_pause_resume_and_poll_now_actions(admin_client_: Client, alice: User) -> None:
    account = linked_account(alice)
    url = reverse("admin:scrobbler_spotifyaccount_changelist")
    admin_client_.post(url, {"action": "pause_polling", "_selected_action": [account.pk]})
    account.refresh_from_db()
    assert account.polling_paused
    admin_client_.post(url, {"action": "resume_polling", "_selected_action": [account.pk]})
    SpotifyAccount.objects.filter(pk=account.pk).update(next_poll_at="2999-01-01T00:00:00Z")
    admin_client_.post(url, {"action": "poll_now", "_selected_action": [account.pk]})
    account.refresh_from_db()
    assert not account.polling_paused
    assert account.next_poll_at.year < 2999


def test_admitting_from_the_waitlist(admin_client_: Client, alice: User) -> None:
    entry = SpotifyWaitlistEntry.objects.create(user=alice)
    admin_client_.post(
        reverse("admin:scrobbler_spotifywaitlistentry_changelist"),
        {"action": "admit", "_selected_action": [entry.pk]},
    )
    entry.refresh_from_db()
    assert entry.admitted_at is not None


def test_admin_is_refused_to_non_staff(client: Client, alice: User) -> None:
    client.force_login(alice)
    response = client.get(reverse("admin:scrobbler_spotifyaccount_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# --- users: the Spotify link at a glance, and what can be done to them ----------------------------


def users_url() -> str:
    return reverse("admin:scrobbler_user_changelist")


def test_users_are_listed_with_their_spotify_link_and_polling(
    admin_client_: Client, alice: User, bob: User
) -> None:
    linked_account(
        alice,
        poll_mode="history",
        last_poll_at=timezone.now(),
        failure_kind="network",
        failure_count=3,
        last_error="Spotify answered 502",
    )
    page = admin_client_.get(users_url())
    assert page.status_code == 200
    row = next(line for line in page.text.split("<tr") if ">alice<" in line)
    assert "Linked" in row
    assert "History (recently played)" in row
    assert "Network or Spotify outage, 3 in a row: Spotify answered 502" in row
    bob_row = next(line for line in page.text.split("<tr") if ">bob<" in line)
    assert "Linked" not in bob_row


def test_users_changelist_queries_do_not_grow_with_users(
    admin_client_: Client, django_assert_max_num_queries: Any
) -> None:
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client_.get(users_url()).status_code == 200
        return len(queries)

    for n in range(5):
        linked_account(UserFactory.create(username=f"few{n}"))
    few = queries_for_page()
    for n in range(60):
        user = UserFactory.create(username=f"many{n}")
        if n % 2:
            linked_account(user, failure_count=n, failure_kind="unknown")
    assert queries_for_page() == few
    with django_assert_max_num_queries(12):
        admin_client_.get(users_url())


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("active", {"alice", "carol"}),
        ("paused", {"bob"}),
        ("failing", {"carol"}),
        ("needs_relink", {"dave"}),
        ("none", {"root", "erin"}),
    ],
)
def test_users_filter_by_spotify_link_state(
    admin_client_: Client, alice: User, bob: User, choice: str, expected: set[str]
) -> None:
    linked_account(alice)
    linked_account(bob, polling_paused=True)
    linked_account(UserFactory.create(username="carol"), failure_count=2, failure_kind="auth")
    linked_account(UserFactory.create(username="dave"), status="needs_relink")
    UserFactory.create(username="erin")
    page = admin_client_.get(users_url(), {"spotify": choice})
    assert page.status_code == 200
    assert {user.username for user in page.context["cl"].result_list} == expected


def test_user_actions_pause_resume_and_sync_now(
    admin_client_: Client, alice: User, bob: User
) -> None:
    account = linked_account(alice)
    other = linked_account(bob)

    def act(action: str) -> None:
        response = admin_client_.post(
            users_url(), {"action": action, "_selected_action": [alice.pk]}
        )
        assert response.status_code == 302

    act("pause_polling")
    account.refresh_from_db()
    assert account.polling_paused
    act("resume_polling")
    account.refresh_from_db()
    assert not account.polling_paused
    SpotifyAccount.objects.update(next_poll_at="2999-01-01T00:00:00Z", failure_count=4)
    act("sync_now")
    account.refresh_from_db()
    other.refresh_from_db()
    assert account.next_poll_at <= timezone.now()
    assert other.next_poll_at.year == 2999  # only the selected user's
    assert not other.polling_paused


def test_rescan_library_from_the_users_and_the_job_runs_pages(
    admin_client_: Client,
    alice: User,
    tmp_path: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MUSIC_ROOT = tmp_path
    settings.COVER_CACHE_DIR = tmp_path / "covers"
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_.post(
            users_url(), {"action": "rescan_library", "_selected_action": [alice.pk]}
        )
    assert JobRun.objects.filter(kind=JobRun.Kind.LIBRARY_SCAN).count() == 1  # eager: it ran
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(reverse("admin:ops_jobrun_scan_library"))
    assert response.status_code == 302
    assert JobRun.objects.filter(kind=JobRun.Kind.LIBRARY_SCAN).count() == 2
    assert admin_client_.get(reverse("admin:ops_jobrun_scan_library")).status_code == 405


def test_deleting_a_user_with_all_data_asks_first_then_removes_everything_theirs(
    admin_client_: Client,
    alice: User,
    bob: User,
    tmp_path: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.IMPORT_DIR = tmp_path / "imports"
    track = TrackFactory.create()
    for user in (alice, bob):
        linked_account(user)
        PlayFactory.create(user=user, track=track)
        PlayFactory.create(user=user, track=track)
        TrackLike.objects.create(user=user, track=track)
        device = Device.objects.create(
            user=user, client_id=f"{user.username}-laptop", name="Laptop", last_seen=timezone.now()
        )
        PlaybackSession.objects.create(user=user, active_device=device, changed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        alices_import, bobs_import = (
            import_create(user=user, uploads=[SimpleUploadedFile("endsong_0.json", b"[]")])
            for user in (alice, bob)
        )
    folder = settings.IMPORT_DIR / str(alices_import.public_id)
    assert any(folder.iterdir())

    select = {"action": "delete_with_all_data", "_selected_action": [alice.pk]}
    confirm = admin_client_.post(users_url(), select)
    assert confirm.status_code == 200
    assert "2 plays" in confirm.text
    assert "1 imports, with their uploaded files" in confirm.text
    assert "1 devices" in confirm.text
    assert "1 playback sessions" in confirm.text
    assert User.objects.filter(pk=alice.pk).exists()  # nothing deleted yet

    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client_.post(users_url(), {**select, "confirmed": "yes"})
    assert done.status_code == 302
    assert not User.objects.filter(pk=alice.pk).exists()
    for model in (Play, Import, Device, PlaybackSession, SpotifyAccount, TrackLike):
        assert not model.objects.filter(user_id=alice.pk).exists(), model
        assert model.objects.filter(user_id=bob.pk).exists(), model
    assert not folder.exists()
    assert (settings.IMPORT_DIR / str(bobs_import.public_id)).exists()


def test_django_bulk_delete_is_replaced_and_the_single_delete_removes_files_too(
    admin_client_: Client,
    alice: User,
    tmp_path: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.IMPORT_DIR = tmp_path / "imports"
    page = admin_client_.get(users_url())
    assert "delete_selected" not in page.text
    with django_capture_on_commit_callbacks(execute=True):
        imp = import_create(user=alice, uploads=[SimpleUploadedFile("endsong_0.json", b"[]")])
    folder = settings.IMPORT_DIR / str(imp.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            reverse("admin:scrobbler_user_delete", args=[alice.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not User.objects.filter(pk=alice.pk).exists()
    assert not folder.exists()


def test_non_staff_cannot_use_the_user_actions(client: Client, alice: User, bob: User) -> None:
    linked_account(bob)
    client.force_login(alice)
    for action in ("pause_polling", "delete_with_all_data"):
        response = client.post(
            users_url(), {"action": action, "_selected_action": [bob.pk], "confirmed": "yes"}
        )
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    assert User.objects.filter(pk=bob.pk).exists()
    assert not SpotifyAccount.objects.get(user=bob).polling_paused
    assert client.post(reverse("admin:ops_jobrun_scan_library")).status_code == 302


def test_staff_without_permissions_cannot_delete_users(
    client: Client, staff: User, alice: User
) -> None:
    client.force_login(staff)
    assert client.get(users_url()).status_code == 403
    client.post(
        users_url(),
        {"action": "delete_with_all_data", "_selected_action": [alice.pk], "confirmed": "yes"},
    )
    assert User.objects.filter(pk=alice.pk).exists()


# --- imports, job runs, plays -------------------------------------------------------------------


def test_imports_show_progress_and_errors(admin_client_: Client, alice: User) -> None:
    Import.objects.create(
        user=alice, name="big.zip", status=Import.Status.IMPORTING, rows_total=2000, rows_done=500
    )
    Import.objects.create(
        user=alice, name="bad.json", status=Import.Status.FAILED, error="Not a Spotify export"
    )
    url = reverse("admin:imports_import_changelist")
    page = admin_client_.get(url)
    assert "25% (500 of 2,000)" in page.text
    assert "Not a Spotify export" in page.text
    failed = admin_client_.get(url, {"has_error": "yes"})
    assert [imp.name for imp in failed.context["cl"].result_list] == ["bad.json"]


def test_job_runs_show_duration_and_outcome_with_filters(admin_client_: Client) -> None:
    start = timezone.now()
    JobRun.objects.create(
        kind=JobRun.Kind.LIBRARY_SCAN,
        status=JobRun.Status.FAILED,
        started_at=start,
        finished_at=start + dt.timedelta(seconds=12.5),
        details={"error": "MUSIC_ROOT is not a folder"},
    )
    JobRun.objects.create(kind=JobRun.Kind.WORKER_CHECK, status=JobRun.Status.QUEUED)
    url = reverse("admin:ops_jobrun_changelist")
    page = admin_client_.get(url)
    assert "12.5 s" in page.text
    assert "error: MUSIC_ROOT is not a folder" in page.text
    assert "Re-scan the music library" in page.text
    scans = admin_client_.get(url, {"kind__exact": "library_scan"})
    assert [job.kind for job in scans.context["cl"].result_list] == ["library_scan"]
    failed = admin_client_.get(url, {"status__exact": "failed"})
    assert len(failed.context["cl"].result_list) == 1


def test_plays_are_searchable_by_track_artist_and_user_without_n_plus_one(
    admin_client_: Client, alice: User, bob: User, django_assert_max_num_queries: Any
) -> None:
    nina = ArtistFactory.create(name="Nina Simone")
    feeling = TrackFactory.create(name="Feeling Good", artists=[nina])
    PlayFactory.create(user=alice, track=feeling)
    for _ in range(40):
        PlayFactory.create(user=bob)
    url = reverse("admin:scrobbler_play_changelist")

    def found(query: str) -> set[tuple[str, str]]:
        page = admin_client_.get(url, {"q": query})
        return {(p.user.username, p.track.name) for p in page.context["cl"].result_list}

    assert found("Nina") == {("alice", "Feeling Good")}
    assert found("Feeling") == {("alice", "Feeling Good")}
    assert len(found("bob")) == 40
    with django_assert_max_num_queries(10):
        page = admin_client_.get(url)
    assert "Nina Simone" in page.text
    assert page.context["cl"].date_hierarchy == "ended_at"


def test_staff_see_polls_and_imports_in_job_runs_with_a_constant_query_count(
    client: Client, staff: User, django_assert_max_num_queries: Any
) -> None:
    from django.contrib.auth.models import Permission

    from scrobbler import jobruns

    staff.user_permissions.add(Permission.objects.get(codename="view_jobrun"))
    client.force_login(staff)
    url = reverse("admin:ops_jobrun_changelist")
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)

    def add_runs(count: int) -> None:
        for n in range(count):
            moment = start + dt.timedelta(minutes=JobRun.objects.count())
            jobruns.poll_tick_record(
                jobruns.PollTick(
                    started_at=moment,
                    finished_at=moment + dt.timedelta(seconds=0.9),
                    polled=40 + n,
                    plays=2,
                    failures=Counter({"network": 3}),
                )
            )
            JobRun.objects.create(
                kind=JobRun.Kind.IMPORT,
                status=JobRun.Status.FAILED,
                started_at=moment,
                finished_at=moment + dt.timedelta(seconds=75),
                details={"import": "x", "rows": 10, "imported": 4, "skipped": 6, "error": "boom"},
            )

    add_runs(2)
    with CaptureQueriesContext(connection) as few:
        page = client.get(url)
    assert page.status_code == 200
    assert "ticks 1; polled 40; plays 2; failures: network 3" in page.text
    assert "rows 10; imported 4; skipped 6; error: boom" in page.text
    assert "75.0 s" in page.text

    add_runs(20)
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200
    polls = client.get(url, {"kind__exact": "polls", "status__exact": "succeeded"})
    assert {job.kind for job in polls.context["cl"].result_list} == {"polls"}
    assert len(polls.context["cl"].result_list) == 22
