"""Log lines that say which request or task they belong to, as JSON or plain text, and never
carry a secret.

`config/settings.py` wires these into LOGGING: every handler has `LogContext` (the request or
task id) and `RedactSecrets` (the safety net: tokens, codes and keys that reach a log line anyway
are replaced by `[redacted]`).
"""

from __future__ import annotations

import copy
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


# What a log value may not hold as itself: C0 and C1 control characters and DEL (a newline or a
# carriage return would start a line of the sender's choosing, a NUL or an escape sequence would
# reach the terminal or the log store), the Unicode line and paragraph separators, and the
# direction overrides that make a line read differently from what it holds.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escaped(char: re.Match[str]) -> str:
    code = ord(char.group())
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char.group()) or (
        f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    )


def escape_controls(text: str) -> str:
    """`text` with its control characters written as escapes (`\\n`, `\\x00`, `\\u2028`): a
    logged value stays on its line and shows what it held."""
    return _CONTROLS.sub(_escaped, text)


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


class PlainFormatter(logging.Formatter):
    """A line per record, its values' control characters escaped: what a request or an error
    message carries can't start a line of its own. A traceback's lines follow, indented, so a
    line at the start of the column is always a record."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        shown = copy.copy(record)
        for name, value in record.__dict__.items():
            if isinstance(value, str):
                setattr(shown, name, escape_controls(value))
        return super().formatMessage(shown)

    def format(self, record: logging.LogRecord) -> str:
        line, *more = super().format(record).split("\n")
        return "\n".join([line, *(f"  {escape_controls(text)}" for text in more)])


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id or task_id, the
    exception, and `extra=` values. Django's `request` extra becomes its method and path only:
    its repr holds the query string, and query strings can hold tokens."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": escape_controls(record.getMessage()),
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
                path = str(getattr(value, "path", "")).split("?", 1)[0]
                line["path"] = escape_controls(path)
            elif isinstance(value, str):
                line[name] = escape_controls(redact(value, known=_known_secrets()))
            elif isinstance(value, int | float | bool) or value is None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        # A traceback keeps its lines (JSON writes them as \\n); nothing else in it is raw.
        if record.exc_text:
            line["exception"] = _multiline(record.exc_text)
        if record.stack_info:
            line["stack"] = _multiline(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _multiline(text: str) -> str:
    return "\n".join(escape_controls(part) for part in text.split("\n"))


def task_started(*, task_id: str | None = None, **_: object) -> None:
    """Celery's task_prerun: the task's log lines carry its id."""
    current_task_id.set(task_id or "")


def task_finished(**_: object) -> None:
    """Celery's task_postrun."""
    current_task_id.set("")
