"""Turn configuration and database errors at start-up into one clear line and a non-zero exit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

from django.db.utils import OperationalError

from config.env import ConfigError, redact_url


def fail(message: str) -> NoReturn:
    print(f"encore: {message}", file=sys.stderr)
    raise SystemExit(2)


def load_settings_or_exit() -> None:
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - importing the settings module validates it
    except ConfigError as exc:
        fail(str(exc))


def run_or_exit(main: Callable[[], None]) -> None:
    """Run a start-up step; a database that cannot be reached ends it with one line."""
    from django.conf import settings

    load_settings_or_exit()
    try:
        main()
    except OperationalError as exc:
        url = redact_url(settings.DATABASE_URL)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"cannot use the database at DATABASE_URL={url}: {detail}")
