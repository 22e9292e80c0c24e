"""PostgreSQL's statement and idle-in-transaction timeouts, set on every connection from the
environment, and lifted for work known to run long."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.management import get_commands
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ConnectionHandler
from pytest_django import Settings

from config.env import database_from_url
from scrobbler.sql import long_queries
from tests.processes import database_url

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="timeouts are PostgreSQL's (DATABASE_URL=postgres://…)",
)


def test_timeouts_are_connection_options_in_milliseconds() -> None:
    config = database_from_url(
        "postgres://encore@127.0.0.1:5432/encore",
        conn_max_age=0,
        statement_timeout=30,
        idle_in_transaction_timeout=60,
    )
    assert config["OPTIONS"]["options"] == (
        "-c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000"
    )
    pooled = database_from_url(
        "postgres://encore@127.0.0.1:5432/encore",
        conn_max_age=0,
        pool_size=4,
        statement_timeout=5,
    )
    assert pooled["OPTIONS"]["options"].startswith("-c statement_timeout=5000 ")
    assert pooled["OPTIONS"]["pool"]["max_size"] == 4


@pytest.fixture
def strict_connection(db: None) -> Iterator[BaseDatabaseWrapper]:
    """A second connection to the test database with a 1 s statement and idle timeout."""
    config = database_from_url(
        database_url(connection.settings_dict),
        conn_max_age=0,
        statement_timeout=1,
        idle_in_transaction_timeout=1,
    )
    handler = ConnectionHandler({"default": config})
    strict = handler["default"]
    try:
        yield strict
    finally:
        strict.close()


@postgres_only
def test_a_query_running_past_the_statement_timeout_is_cancelled(
    strict_connection: BaseDatabaseWrapper,
) -> None:
    started = time.monotonic()
    with (
        pytest.raises(OperationalError, match="statement timeout"),
        strict_connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 4
    with strict_connection.cursor() as cursor:  # the connection itself carries on
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@postgres_only
def test_a_transaction_left_idle_is_ended(strict_connection: BaseDatabaseWrapper) -> None:
    strict_connection.set_autocommit(False)
    with strict_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    time.sleep(2)
    with (
        pytest.raises(DatabaseError, match="idle-in-transaction timeout"),
        strict_connection.cursor() as cursor,
    ):
        cursor.execute("SELECT 1")


def sleep(seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_every_connection_gets_the_configured_timeouts(settings: Settings) -> None:
    assert statement_timeout() == "30s"  # DB_STATEMENT_TIMEOUT_SECONDS' default
    with connection.cursor() as cursor:
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone() == ("1min",)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_long_queries_outlast_the_timeout_within_their_transaction(settings: Settings) -> None:
    settings.DB_LONG_STATEMENT_TIMEOUT_SECONDS = 10
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '300ms'")  # a strict request timeout
        with pytest.raises(OperationalError, match="statement timeout"), transaction.atomic():
            sleep(0.6)
        with long_queries():
            assert statement_timeout() == "10s"
            sleep(0.6)
    assert statement_timeout() == "30s"  # SET LOCAL ended with the transaction


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_long_queries_outside_a_transaction_restore_the_connections_timeout(
    settings: Settings,
) -> None:
    settings.DB_LONG_STATEMENT_TIMEOUT_SECONDS = 10
    with long_queries():
        assert statement_timeout() == "10s"
        sleep(0.1)
    assert statement_timeout() == "30s"


def test_migrate_is_encores_own_which_lifts_the_timeout() -> None:
    assert get_commands()["migrate"] == "scrobbler"
