"""Structured logs: request and task ids on every line, JSON or plain, and secrets redacted."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django.test import AsyncClient, Client
from pytest_django import Settings

from ops.logs import REDACTED, redact
from scrobbler.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def project_logging(out: io.StringIO, fmt: str = "json") -> None:
    """Sets up the project's LOGGING with its console handler writing to `out`, at DEBUG."""
    logging_config: dict[str, Any] = django_settings.LOGGING
    config: dict[str, Any] = {**logging_config}
    config["handlers"] = {
        "console": {
            **logging_config["handlers"]["console"],
            "formatter": fmt,
            "stream": out,
        }
    }
    config["root"] = {**config["root"], "level": "DEBUG"}
    logging.config.dictConfig(config)


@pytest.fixture
def log_output(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """The project's LOGGING with its console handler writing here, at DEBUG, in the format the
    test is parametrized with (json by default); the previous configuration is restored."""
    out = io.StringIO()
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    project_logging(out, getattr(request, "param", "json"))
    try:
        yield out
    finally:
        logging.config.dictConfig(django_settings.LOGGING)
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_a_request_gets_an_id_that_its_log_lines_and_response_carry(
    client: Client, alice: User, log_output: io.StringIO
) -> None:
    client.force_login(alice)
    response = client.get("/settings/")
    rid = response["X-Request-ID"]
    assert len(rid) == 32
    access = [line for line in lines(log_output) if line["logger"] == "encore.access"]
    assert access[-1]["request_id"] == rid
    assert access[-1]["path"] == "/settings/"
    assert access[-1]["status"] == 200
    assert access[-1]["method"] == "GET"
    assert access[-1]["level"] == "INFO"


def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(client: Client) -> None:
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="nginx-4f2a9c1e77")
    assert kept["X-Request-ID"] == "nginx-4f2a9c1e77"
    for hostile in ("x\nFAKE LOG LINE", "a" * 500, "short", '"quoted"'):
        replaced = client.get("/healthz", HTTP_X_REQUEST_ID=hostile)
        assert replaced["X-Request-ID"] != hostile
        assert len(replaced["X-Request-ID"]) == 32


def test_async_requests_carry_their_id_too(log_output: io.StringIO) -> None:
    get = async_to_sync(AsyncClient().get)
    response = get("/healthz", headers={"X-Request-ID": "edge-123456789"})
    assert response["X-Request-ID"] == "edge-123456789"
    assert any(line.get("request_id") == "edge-123456789" for line in lines(log_output))


def access_levels(out: io.StringIO) -> dict[str, str]:
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return {line["path"]: line["level"] for line in lines if line["logger"] == "encore.access"}


def test_requests_to_the_bundled_simulator_are_logged_at_debug(
    client: Client, log_output: io.StringIO, settings: Settings
) -> None:
    settings.ACCESS_LOG_QUIET_PREFIXES = ["/spotify-sim/"]
    client.get("/spotify-sim/v1/me")
    client.get("/healthz")
    levels = access_levels(log_output)
    assert levels["/spotify-sim/v1/me"] == "DEBUG"
    assert levels["/healthz"] == "INFO"


@pytest.mark.parametrize("log_output", ["plain"], indirect=True)
def test_plain_lines_show_the_request_id(client: Client, log_output: io.StringIO) -> None:
    client.get("/healthz", HTTP_X_REQUEST_ID="plain-0123456789")
    assert "encore.access [plain-0123456789] GET /healthz 200" in log_output.getvalue()


def test_celery_task_lines_carry_the_task_id(log_output: io.StringIO, settings: Settings) -> None:
    from config.celery import app

    @app.task(name="tests.ops.logs_something")
    def logs_something() -> None:
        logging.getLogger("tests.ops").info("inside the task")

    result = logs_something.apply(task_id="task-id-42")
    assert result.successful()
    inside = [line for line in lines(log_output) if line["message"] == "inside the task"]
    assert inside[0]["task_id"] == "task-id-42"
    logging.getLogger("tests.ops").info("after the task")
    after = [line for line in lines(log_output) if line["message"] == "after the task"]
    assert "task_id" not in after[0]


def test_media_tokens_codes_and_bearer_tokens_are_redacted(log_output: io.StringIO) -> None:
    log = logging.getLogger("tests.ops")
    log.info("GET /media/tracks/7?token=abc.DEF-123_xyz 200")
    log.info("GET /spotify/callback?code=AQBx-code-value&state=signed:nonce 302")
    log.debug("Headers: {'Authorization': 'Bearer BQD-access-token-value'}")
    log.debug("form %s", {"refresh_token": "AQD-refresh-value", "client_secret": "shh-secret"})
    log.debug('{"access_token": "BQC-json-value", "password": "hunter2-long"}')
    log.debug("Cookie: sessionid=s3ss10nk3y; csrftoken=abc")
    try:
        raise ValueError("bad ?token=in-a-traceback-value")
    except ValueError:
        log.exception("failed")
    text = log_output.getvalue()
    for secret in (
        "abc.DEF-123_xyz",
        "AQBx-code-value",
        "signed:nonce",
        "BQD-access-token-value",
        "AQD-refresh-value",
        "shh-secret",
        "BQC-json-value",
        "hunter2-long",
        "s3ss10nk3y",
        "in-a-traceback-value",
    ):
        assert secret not in text
    assert text.count(REDACTED) >= 10
    assert "GET /media/tracks/7?token=[redacted] 200" in text


def test_the_sites_own_secrets_are_redacted_wherever_they_appear(
    log_output: io.StringIO, settings: Settings
) -> None:
    settings.SPOTIFY_CLIENT_SECRET = "the-client-secret-0123456789"
    logging.getLogger("tests.ops").warning("oops %s", settings.SPOTIFY_CLIENT_SECRET)
    logging.getLogger("tests.ops").warning("key %s", settings.SECRET_KEY)
    assert settings.SPOTIFY_CLIENT_SECRET not in log_output.getvalue()
    assert settings.SECRET_KEY not in log_output.getvalue()


def test_redaction_leaves_ordinary_lines_alone() -> None:
    for line in (
        "poll of spotify account 3 failed (network, #2): Spotify answered 502",
        "GET /top/tracks/?range=7d&page=2 200",
        "import 12: 25000 rows written",
        "status_code=200 token_count=3",
    ):
        assert redact(line) == line


def test_django_request_records_log_the_path_without_the_query(
    client: Client, log_output: io.StringIO
) -> None:
    client.get("/media/tracks/999999?token=a-leaky-media-token")  # 403/404: django.request logs
    text = log_output.getvalue()
    assert "a-leaky-media-token" not in text
    warnings = [line for line in lines(log_output) if line["logger"] == "django.request"]
    assert warnings
    assert warnings[0]["path"] == "/media/tracks/999999"


def test_sign_in_logs_no_password_or_session_key(
    client: Client, alice: User, log_output: io.StringIO
) -> None:
    alice.set_password(PASSWORD)
    alice.save()
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    session_key = client.cookies["sessionid"].value
    text = log_output.getvalue()
    assert "/accounts/login/" in text
    assert PASSWORD not in text
    assert session_key not in text


def test_extra_values_are_redacted_and_objects_left_out(log_output: io.StringIO) -> None:
    logging.getLogger("tests.ops").info(
        "called", extra={"url": "/media/tracks/1?token=extra-token-value", "obj": object()}
    )
    line = lines(log_output)[-1]
    assert line["url"] == "/media/tracks/1?token=[redacted]"
    assert "obj" not in line


def test_runserver_request_lines_keep_the_query_out(log_output: io.StringIO) -> None:
    class Handler:  # what runserver passes as `request`: its path has the query
        command = "GET"
        path = "/media/tracks/3?token=runserver-token-value"

    logging.getLogger("django.server").info(
        '"%s %s" %s', Handler.command, Handler.path, 200, extra={"request": Handler()}
    )
    line = lines(log_output)[-1]
    assert line["path"] == "/media/tracks/3"
    assert line["method"] == "GET"
    assert "runserver-token-value" not in log_output.getvalue()


def test_the_web_servers_lines_are_ours_and_its_access_log_stays_off(
    log_output: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    """uvicorn sets up its loggers (plain text, and an access log of whole URLs) before it imports
    config.asgi, whose Django set-up then applies LOGGING: even after `--access-log`. Its lines
    about each WebSocket connection, with the client's address, are dropped too."""
    from uvicorn.config import Config

    Config("config.asgi:application", access_log=True)  # what `uvicorn --access-log` sets up
    project_logging(log_output)  # then importing config.asgi
    server = logging.getLogger("uvicorn.error")
    server.info("Started server process [%d]", 42, extra={"color_message": "[\x1b[36m%d\x1b[0m]"})
    server.info('%s - "WebSocket %s" [accepted]', "203.0.113.9:50000", "/ws/playback")
    server.info("connection open")
    server.info('%s - "WebSocket %s" 403', "203.0.113.9:50001", "/ws/playback")
    server.info("connection closed")
    access = logging.getLogger("uvicorn.access")
    access.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/media/tracks/3?token=t0ken", "1.1", 200
    )
    (line,) = lines(log_output)
    assert line["logger"] == "uvicorn.error"
    assert line["message"] == "Started server process [42]"
    assert "color_message" not in line  # the same message for a terminal, in colour
    assert not access.hasHandlers()  # uvicorn asks this before it logs a request
    assert capsys.readouterr() == ("", "")  # uvicorn's own handlers are gone


FORGED = "\n2026-12-05 10:00:00,000 INFO encore.access [forged] GET /admin/ 200"


def records(out: io.StringIO) -> list[tuple[str, str]]:
    """(logger, message) of each line, in either format: a plain line is
    `date time level logger [context] message`."""
    text = out.getvalue()
    if text.startswith("{"):
        return [(line["logger"], line["message"]) for line in lines(out)]
    return [
        (parts[3], parts[5])
        for parts in (line.split(" ", 5) for line in text.splitlines())
        if len(parts) == 6
    ]


@pytest.mark.parametrize("log_output", ["plain", "json"], indirect=True)
def test_a_path_with_a_newline_or_a_nul_writes_one_escaped_line(
    client: Client, log_output: io.StringIO
) -> None:
    # %0a and %00 reach request.path decoded: the access line and Django's "Not Found" line.
    client.get("/nowhere" + quote(FORGED))
    client.get("/nul%00byte%0d%1b[2J%e2%80%a8")
    text = log_output.getvalue()
    for raw in ("\x00", "\r", "\x1b", "\u2028"):
        assert raw not in text
    assert len(text.splitlines()) == 4  # two access lines, two "Not Found" warnings
    assert [logger for logger, _ in records(log_output)] == [
        "encore.access",
        "django.request",
        "encore.access",
        "django.request",
    ]
    access = [message for logger, message in records(log_output) if logger == "encore.access"]
    assert access == [
        "GET /nowhere" + FORGED.replace("\n", "\\n") + " 404",
        "GET /nul\\x00byte\\r\\x1b[2J\\u2028 404",
    ]


@pytest.mark.parametrize("log_output", ["plain", "json"], indirect=True)
def test_messages_arguments_extras_and_tracebacks_cannot_start_a_line(
    log_output: io.StringIO,
) -> None:
    log = logging.getLogger("tests.ops")
    log.warning("artist %s", "Name" + FORGED, extra={"title": "Song" + FORGED})
    try:
        raise ValueError("bad value" + FORGED)
    except ValueError:
        log.exception("failed on %r", "x")
    text = log_output.getvalue()
    # Every line that starts at the left edge is one of the two records.
    records = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert len(records) == 2
    if text.startswith("{"):
        warning, failure = (json.loads(line) for line in records)
        assert warning["message"] == "artist Name" + FORGED.replace("\n", "\\n")
        assert warning["title"] == "Song" + FORGED.replace("\n", "\\n")
        # The traceback keeps its lines inside its JSON string, which stays on the record's line.
        assert "ValueError: bad value\n2026-12-05" in failure["exception"]
    else:
        assert "artist Name\\n2026-12-05" in records[0]
        # Python writes the exception's own newline: the line after it is indented.
        assert "\n  ValueError: bad value\n  2026-12-05 10:00:00,000 INFO" in text
