"""The import and export pages in a real browser: upload, analysis, confirmation and progress
arriving by themselves (HTMX polling a worker's job), errors, downloads, and other users' imports."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from django.contrib.auth.hashers import make_password

from imports.models import Import
from scrobbler.models import Play, User
from spotify_sim.export import synthetic_export
from tests.conftest import PASSWORD
from tests.e2e.conftest import screenshot
from tests.imports.importing import run_import
from tests.processes import celery_worker, process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WAIT_MS = 30_000
IMPORT_PAGE = re.compile(r"/imports/[0-9a-f-]{36}/$")
# Installed before each document loads: notes whether the status region ever held a progress
# bar (in the page as served or swapped in by HTMX), and marks the document so a test can tell
# that a later result arrived in the same page rather than through a reload.
WATCH_PROGRESS = """
window.encoreDocument = Math.random();
window.encoreSawProgress = false;
new MutationObserver(() => {
  if (document.querySelector('#import-status progress')) window.encoreSawProgress = true;
}).observe(document, {childList: true, subtree: true});
"""


def user(username: str) -> User:
    """A user whose password hash the real server (default hashers) can check."""
    return User.objects.create(
        username=username, password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )


@contextmanager
def servers(tmp_path: Path, static_root: Path, *, worker: bool = True) -> Iterator[str]:
    """The web server and (unless told otherwise) a Celery worker; yields the site's base URL. The
    worker starts first, so it boots while the web server does (tasks queued before it is up
    wait)."""
    env = process_env(tmp_path, static_root, IMPORT_BATCH_ROWS="1000")
    with ExitStack() as stack:
        if worker:
            stack.enter_context(celery_worker(env, tmp_path / "worker.log"))
        yield stack.enter_context(web_server(env, tmp_path / "web.log"))


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(f"{base}/")


def upload(page: Any, base: str, *files: Path) -> Import:
    """Send files through the upload form; returns the import the page now shows."""
    page.goto(f"{base}/imports/")
    page.set_input_files("input[name=files]", [str(f) for f in files])
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url(IMPORT_PAGE)
    public_id = page.url.rstrip("/").rsplit("/", 1)[1]
    return Import.objects.get(public_id=public_id)


def wait_for_status(page: Any, text: str) -> None:
    """Wait, without reloading, for the status region to say `text`."""
    page.locator("#import-status > p > strong", has_text=text).wait_for(timeout=WAIT_MS)


def facts(page: Any, selector: str = "dl.facts") -> dict[str, str]:
    """The first facts list matching `selector`, as {term: description}."""
    terms = page.locator(f"{selector} >> nth=0").locator("dt").all_inner_texts()
    details = page.locator(f"{selector} >> nth=0").locator("dd").all_inner_texts()
    return dict(zip(terms, details, strict=True))


def spotify_zip(folder: Path, plays: int) -> Path:
    """A my_spotify_data.zip of Extended Streaming History, laid out as Spotify sends it."""
    path = folder / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, records in synthetic_export(plays, seed="browser", start_ms=1_600_000_000_000):
            archive.writestr(
                f"Spotify Extended Streaming History/{name}", msgspec.json.encode(records)
            )
    return path


def test_a_user_uploads_an_export_sees_the_analysis_confirms_and_watches_it_import(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    alice = user("alice")
    export = spotify_zip(tmp_path, 30_000)
    page = browser_page
    page.add_init_script(WATCH_PROGRESS)
    with servers(tmp_path, static_root) as base:
        sign_in(page, base, "alice")
        imp = upload(page, base, export)
        wait_for_status(page, "Ready to import")
        imp.refresh_from_db()
        report = imp.report
        shown = facts(page)
        assert shown["Listens"] == (
            f"{report['listens']:,} from {report['first'][:10]} to {report['last'][:10]}"
        )
        assert shown["New"] == (
            f"{report['new']:,} ({report['new_counted']:,} long enough to count,"
            " the rest kept as skips)"
        )
        assert shown["Already in Encore"] == "0" == str(report["already"])
        assert shown["Repeated in the export"] == f"{report['repeated']:,}"
        for reason, count in report["not_played"].items():
            assert shown[f"Not imported: {reason}"] == f"{count:,}"
        rows = [
            row.locator("td").all_inner_texts()
            for row in page.locator("#import-status table tbody tr").all()
        ]
        assert rows == [
            [
                f["name"],
                f["format"],
                f"{f['records']:,}",
                f"{f['listens']:,}",
                f"{f['first'][:10]} \N{EN DASH} {f['last'][:10]}",
            ]
            for f in report["files"]
        ]
        assert [f["name"].rsplit("_", 1)[1] for f in report["files"]] == ["0.json", "1.json"]
        assert all(
            f["name"].startswith("my_spotify_data.zip/Spotify Extended Streaming History/")
            for f in report["files"]
        )
        assert sum(f["records"] for f in report["files"]) == 30_000
        assert report["new"] > 25_000
        screenshot(page, "import-ready")

        before = page.evaluate("window.encoreDocument")
        with page.expect_navigation(url=IMPORT_PAGE):
            page.get_by_role("button", name=f"Import {report['new']:,} new listens").click()
        landed = page.evaluate("window.encoreDocument")
        assert landed != before  # the confirmation redirected back to this page
        landed_done = page.locator("#import-status h2", has_text="Imported").count() == 1
        wait_for_status(page, "Imported")
        assert page.evaluate("window.encoreDocument") == landed  # no reload: HTMX swapped it in
        saw_progress = page.evaluate("window.encoreSawProgress")
        added = facts(page, "#import-status h2:text-is('Imported') + dl.facts")["Added"]
        screenshot(page, "import-done")

    imp.refresh_from_db()
    stored = Play.objects.filter(user=alice).count()
    assert imp.status == Import.Status.DONE
    assert added == f"{stored:,} ({imp.result['added_counted']:,} counted)"
    assert stored == imp.result["added"] == report["new"]
    # Either the bar was on screen, or the job was done before the page first showed it.
    assert saw_progress or landed_done


def test_a_broken_file_shows_one_clear_error_in_the_page(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    alice = user("alice")
    records: list[dict[str, Any]] = [
        {
            "ts": f"2024-05-01T10:0{number}:00Z",
            "ms_played": 200_000,
            "master_metadata_track_name": "Song",
            "master_metadata_album_artist_name": "Artist",
            "master_metadata_album_album_name": "Album",
            "spotify_track_uri": "spotify:track:" + "A" * 22,
        }
        for number in range(5)
    ]
    records[2]["ms_played"] = "lots"
    broken = tmp_path / "endsong_0.json"
    broken.write_bytes(msgspec.json.encode(records))
    page = browser_page
    with servers(tmp_path, static_root) as base:
        sign_in(page, base, "alice")
        imp = upload(page, base, broken)
        wait_for_status(page, "Failed")
        alerts = page.get_by_role("alert")
        assert alerts.count() == 1
        message = alerts.locator("p").first.inner_text()
        assert page.locator("#import-status[hx-trigger]").count() == 0  # polling has stopped
        screenshot(page, "import-broken-file")

    imp.refresh_from_db()
    assert imp.status == Import.Status.FAILED
    assert message == imp.error
    assert message.startswith("endsong_0.json, record 3: ms_played: Expected `int`, got `str`")
    assert not Play.objects.filter(user=alice).exists()


def test_the_json_export_downloads_and_reimports_as_nothing_new(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    alice = user("alice")
    ((name, records),) = synthetic_export(2_000, seed="round trip", start_ms=1_600_000_000_000)
    history = tmp_path / name
    history.write_bytes(msgspec.json.encode(records))
    run_import(alice, history)
    plays = Play.objects.filter(user=alice).count()
    assert plays > 1_500
    page = browser_page
    with servers(tmp_path, static_root) as base:
        sign_in(page, base, "alice")
        page.goto(f"{base}/imports/")
        with page.expect_download() as download_info:
            page.get_by_role("link", name="JSON", exact=True).click()
        download = download_info.value
        assert re.fullmatch(
            r"encore-alice-\d{4}-\d{2}-\d{2}-plays\.json", download.suggested_filename
        )
        exported = tmp_path / "downloads" / download.suggested_filename
        download.save_as(exported)

        imp = upload(page, base, exported)
        wait_for_status(page, "Ready to import")
        shown = facts(page)
        page_text = page.inner_text("#import-status")
        screenshot(page, "import-reimport-nothing-new")

    imp.refresh_from_db()
    assert imp.report["files"][0]["format"] == "Encore export"
    assert imp.report["new"] == 0
    assert imp.report["already"] == imp.report["listens"] == plays
    assert shown["New"] == "0"
    assert "there is nothing to import" in page_text
    assert shown["Already in Encore"] == f"{plays:,}"
    assert Play.objects.filter(user=alice).count() == plays


def test_another_users_import_page_is_not_found(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    alice, _ = user("alice"), user("bob")
    imp = Import.objects.create(
        user=alice,
        name="alices_history.zip",
        status=Import.Status.READY,
        report={"listens": 3, "new": 3, "new_counted": 3, "already": 0, "repeated": 0},
    )
    alices_page = browser_page
    bobs_page = alices_page.context.browser.new_context().new_page()
    with servers(tmp_path, static_root, worker=False) as base:
        url = f"{base}/imports/{imp.public_id}/"
        sign_in(alices_page, base, "alice")
        assert alices_page.goto(url).status == 200
        assert "Import of alices_history.zip" in alices_page.inner_text("h1")

        sign_in(bobs_page, base, "bob")
        response = bobs_page.goto(url)
        text = bobs_page.inner_text("body")
        screenshot(bobs_page, "import-of-another-user")
        bobs_page.goto(f"{base}/imports/")
        bobs_list = bobs_page.inner_text("main")

    assert response.status == 404
    assert "Page not found" in text  # the branded 404, which names nothing of hers
    assert "alices_history" not in text
    assert "alices_history" not in bobs_list
