"""Log lines that say which request or task they belong to, as JSON or plain text, and never
carry a secret.

`config/settings.py` wires these into LOGGING: every handler has `LogContext` (the request or
task id) and `RedactSecrets` (the safety net: tokens, codes and keys that reach a log line anyway
are replaced by `[redacted]`).
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Set by ops.middleware for a web request and by the Celery signals below for a task; context
# variables follow a request across `await`s and into the threads Django runs sync code in.
current_request_id: ContextVar[str] = ContextVar("request_id", default="")
current_task_id: ContextVar[str] = ContextVar("task_id", default="")

REDACTED = "[redacted]"
# Names whose values are secrets wherever they appear: in forms, JSON, dict reprs and headers
# (spotipy logs its request headers at DEBUG, Authorization included).
_SECRET_NAMES = "|".join(
    (
        "access_token",
        "refresh_token",
        "client_secret",
        "code_verifier",
        "token",
        "password",
        "sessionid",
        "csrftoken",
        "csrfmiddlewaretoken",
        "secret_key",
    )
)
_PATTERNS = (
    # Authorization: Bearer abc / Basic abc (and "Bearer abc" anywhere)
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}"), rf"\1\2{REDACTED}"),
    # In URLs also OAuth's authorization code and state: /spotify/callback?code=…&state=…
    (re.compile(r"(?i)([?&](?:code|state)=)[^\s&#\"']+"), rf"\1{REDACTED}"),
    # ?token=abc  password=abc  "access_token": "abc"  'refresh_token': 'abc'
    (
        re.compile(
            rf"""(?i)(?<![A-Za-z0-9_])(["']?(?:{_SECRET_NAMES})["']?\s*[:=]\s*["']?)"""
            r"""[^\s"'&,;}<>\]\)]+"""
        ),
        rf"\1{REDACTED}",
    ),
    # Cookie and Set-Cookie headers: session and CSRF cookies
    (re.compile(r"(?i)\b((?:set-)?cookie['\"]?\s*[:=]\s*['\"]?)[^'\"\n]+"), rf"\1{REDACTED}"),
)


def redact(text: str, *, known: tuple[str, ...] = ()) -> str:
    """`text` with secrets replaced: anything that looks like one, and each of `known`."""
    for secret in known:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _known_secrets() -> tuple[str, ...]:
    """The site's own secrets, from settings (read lazily: settings may not be ready yet)."""
    try:
        from django.conf import settings

        return (
            settings.SECRET_KEY,
            settings.SPOTIFY_CLIENT_SECRET,
            *(key.decode() if isinstance(key, bytes) else str(key) for key in _keys(settings)),
        )
    except Exception:  # before settings are configured there is nothing to look for
        return ()


def _keys(settings: Any) -> list[object]:
    return list(getattr(settings, "TOKEN_ENCRYPTION_KEYS", []) or [])


class RedactSecrets(logging.Filter):
    """Renders the record's message and traceback with secrets replaced (the record itself is
    changed, so every handler after this one sees the redacted text too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = _known_secrets()
        message = record.getMessage()
        cleaned = redact(message, known=known)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, known=known)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, known=known)
        return True


class NoConnectionLines(logging.Filter):
    """Drops the web server's lines about each WebSocket connection: uvicorn logs, at INFO, its
    client's address and URL when accepted or refused, and when it opens and closes. Like its
    access log (off), they would name every player's address; Encore logs no client addresses."""

    # uvicorn's messages (websockets' "connection ..." too), before their arguments are filled in.
    _LINES = ('%s - "WebSocket %s"', "connection open", "connection closed")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(self._LINES))


class LogContext(logging.Filter):
    """Adds `request_id`, `task_id` and `context` (whichever of them is set, else "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        request, task = current_request_id.get(), current_task_id.get()
        record.request_id, record.task_id = request, task
        record.context = request or task or "-"
        return True


# Attributes every LogRecord has; anything else was passed as `extra=`. uvicorn passes its
# message again with terminal colour codes as `color_message`: the message says it already.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "task_id",
    "context",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id or task_id, the
    exception, and `extra=` values. Django's `request` extra becomes its method and path only:
    its repr holds the query string, and query strings can hold tokens."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "task_id"):
            if value := getattr(record, name, ""):
                line[name] = value
        for name, value in record.__dict__.items():
            if name in _STANDARD or name.startswith("_"):
                continue
            if name == "request":
                # An HttpRequest, or runserver's request handler, whose `path` has the query.
                line["method"] = getattr(value, "method", None) or getattr(value, "command", None)
                line["path"] = str(getattr(value, "path", "")).split("?", 1)[0]
            elif isinstance(value, str):
                line[name] = redact(value, known=_known_secrets())
            elif isinstance(value, int | float | bool) or value is None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)


def task_started(*, task_id: str | None = None, **_: object) -> None:
    """Celery's task_prerun: the task's log lines carry its id."""
    current_task_id.set(task_id or "")


def task_finished(**_: object) -> None:
    """Celery's task_postrun."""
    current_task_id.set("")
