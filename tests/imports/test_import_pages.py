"""The upload page, the analysis and progress page, and the import_history command."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from imports.models import Import
from scrobbler.models import Play, User
from tests.imports.importing import write_json

pytestmark = pytest.mark.django_db

RECORDS = [
    {
        "ts": f"2024-05-01T10:{minute:02d}:00Z",
        "ms_played": 200_000 if minute % 2 else 5_000,
        "master_metadata_track_name": "<script>alert(1)</script>",
        "master_metadata_album_artist_name": "Artist",
        "master_metadata_album_album_name": "Album",
        "spotify_track_uri": "spotify:track:" + "A" * 22,
    }
    for minute in range(10)
]


def _upload(client: Client, name: str, data: bytes) -> Any:
    return client.post(reverse("imports"), {"files": SimpleUploadedFile(name, data)})


@pytest.fixture
def signed_in(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def test_upload_shows_the_analysis_and_imports_only_after_confirmation(
    signed_in: Client, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    import json

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(signed_in, "endsong_0.json", json.dumps(RECORDS).encode())
    imp = Import.objects.get(user=alice)
    assert response.status_code == 302
    assert response["Location"] == reverse("import-detail", args=[imp.public_id])

    page = signed_in.get(response["Location"]).content.decode()
    assert "Ready to import" in page
    assert "Import 10 new listens" in page
    assert Play.objects.filter(user=alice).count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("import-confirm", args=[imp.public_id]))
    imp.refresh_from_db()
    assert imp.status == Import.Status.DONE
    assert Play.objects.filter(user=alice).count() == 10
    page = signed_in.get(reverse("import-detail", args=[imp.public_id])).content.decode()
    assert "Imported" in page
    # The upload is gone once imported.
    assert not any(Path(f["path"]).exists() for f in imp.files)


def test_the_status_region_alone_is_sent_to_htmx_and_polls_while_running(
    signed_in: Client, alice: User
) -> None:
    imp = Import.objects.create(
        user=alice, name="x.zip", status=Import.Status.IMPORTING, rows_total=200, rows_done=50
    )
    url = reverse("import-detail", args=[imp.public_id])
    poll = {"HX-Request": "true", "HX-Target": "import-status"}
    fragment = signed_in.get(url, headers=poll).content.decode()

    assert fragment.lstrip().startswith('<div id="import-status"')
    assert 'hx-trigger="every 1s"' in fragment
    assert 'value="50"' in fragment and "25%" in fragment  # noqa: PT018
    Import.objects.filter(pk=imp.pk).update(
        status=Import.Status.DONE,
        result={"added": 1, "added_counted": 1, "already": 0, "refined": 0, "repeated": 0},
    )
    assert "hx-trigger" not in signed_in.get(url, headers=poll).content.decode()
    # A boosted link to the import (static/js/shell.js) is a page change: the whole page.
    boosted = {"HX-Request": "true", "HX-Boosted": "true"}
    assert '<main id="main">' in signed_in.get(url, headers=boosted).content.decode()


def test_names_from_files_are_shown_as_text_never_as_markup(
    signed_in: Client, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _upload(signed_in, "<img src=x onerror=alert(1)>.json", b"not json")
    imp = Import.objects.get(user=alice)
    page = signed_in.get(reverse("import-detail", args=[imp.public_id])).content.decode()

    assert imp.status == Import.Status.FAILED
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.json" in page


def test_another_user_can_neither_see_nor_confirm_nor_discard_an_import(
    client: Client, alice: User, bob: User, tmp_path: Path
) -> None:
    imp = Import.objects.create(
        user=alice, name="mine.zip", status=Import.Status.READY, report={"new": 1}
    )
    client.force_login(bob)
    url = reverse("import-detail", args=[imp.public_id])
    assert client.get(url).status_code == 404
    for name in ("import-confirm", "import-discard"):
        assert client.post(reverse(name, args=[imp.public_id])).status_code == 404
    imp.refresh_from_db()
    assert imp.status == Import.Status.READY
    assert "mine.zip" not in client.get(reverse("imports")).content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, alice: User) -> None:
    imp = Import.objects.create(user=alice, name="mine.zip")
    for url in [
        reverse("imports"),
        reverse("import-detail", args=[imp.public_id]),
        reverse("export", args=["csv"]),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_an_upload_over_the_size_cap_is_refused_and_nothing_is_kept(
    signed_in: Client, alice: User, settings: Any
) -> None:
    settings.IMPORT_MAX_UPLOAD_MB = 1
    response = _upload(signed_in, "my_spotify_data.zip", b"x" * (2 * 2**20))

    assert response.status_code == 302
    assert not Import.objects.exists()
    page = signed_in.get(reverse("imports")).content.decode()
    assert "larger than 1 MB" in page


def test_discarding_an_analysed_import_deletes_its_upload(
    signed_in: Client, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    import json

    with django_capture_on_commit_callbacks(execute=True):
        _upload(signed_in, "endsong_0.json", json.dumps(RECORDS).encode())
    imp = Import.objects.get(user=alice)
    stored = Path(imp.files[0]["path"])
    assert stored.exists()

    signed_in.post(reverse("import-discard", args=[imp.public_id]))
    imp.refresh_from_db()
    assert imp.status == Import.Status.DISCARDED
    assert not stored.exists()
    assert Play.objects.count() == 0


def test_the_imports_page_takes_a_fixed_number_of_queries(
    signed_in: Client, alice: User, django_assert_max_num_queries: Any
) -> None:
    for n in range(15):
        Import.objects.create(
            user=alice, name=f"{n}.zip", status=Import.Status.DONE, result={"added": n}
        )
    with django_assert_max_num_queries(6):
        assert signed_in.get(reverse("imports")).status_code == 200


def test_the_command_reports_first_and_imports_with_yes(alice: User, tmp_path: Path) -> None:
    path = write_json(tmp_path / "endsong_0.json", RECORDS)
    out = io.StringIO()
    call_command("import_history", str(path), user="alice", stdout=out)
    assert "10 listens from 2024-05-01 to 2024-05-01: 10 new (5 counted)" in out.getvalue()
    assert "run again with --yes" in out.getvalue()
    assert Play.objects.count() == 0

    out = io.StringIO()
    call_command(
        "import_history", str(path), user="alice", yes=True, stdout=out, stderr=io.StringIO()
    )
    assert "Imported: 10 plays added (5 counted)" in out.getvalue()
    assert Play.objects.filter(user=alice).count() == 10


def test_the_command_names_the_file_and_record_of_a_broken_export(
    alice: User, tmp_path: Path
) -> None:
    from django.core.management.base import CommandError

    broken = [*RECORDS[:2], {**RECORDS[2], "ms_played": "lots"}]
    path = write_json(tmp_path / "endsong_0.json", broken)
    with pytest.raises(CommandError, match=r"endsong_0\.json, record 3: ms_played: Expected `int`"):
        call_command("import_history", str(path), user="alice", stdout=io.StringIO())
    assert Play.objects.count() == 0
