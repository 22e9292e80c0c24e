"""Small pieces of raw SQL shared by the modules that write it (rollups, stats, plays)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, connections


def epoch_ms_sql(column: str, *, vendor: str) -> str:
    """SQL of a timestamp column as integer milliseconds since the epoch."""
    if vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) * 1000)::bigint"
    return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400000) AS INTEGER)"


def sql_params(values: Iterable[Any]) -> list[Any]:
    """Parameters for raw SQL as Django would write them (SQLite stores times and dates as
    text in its own format)."""
    ops = connection.ops
    return [
        ops.adapt_datetimefield_value(v)
        if isinstance(v, datetime)
        else ops.adapt_datefield_value(v)
        if isinstance(v, date)
        else v
        for v in values
    ]


def json_values_sql(*, integers: bool = False) -> str:
    """A subquery of the values in one JSON-array parameter, however many there are (rather
    than a placeholder for each of tens of thousands)."""
    if connection.vendor == "postgresql":
        values = "jsonb_array_elements_text(%s::jsonb)"
        return f"SELECT ({values})::bigint" if integers else f"SELECT {values}"
    return "SELECT value FROM json_each(%s)"


@contextmanager
def long_queries(*, using: str = "default") -> Iterator[None]:
    """Lift PostgreSQL's statement timeout (DB_STATEMENT_TIMEOUT_SECONDS, meant for requests) to
    DB_LONG_STATEMENT_TIMEOUT_SECONDS, for work known to run long queries (rollup rebuilds,
    import batches, exports, migrations): inside a transaction until it ends (SET LOCAL), else
    for the session until the block ends. Nothing to do on SQLite."""
    db = connections[using]
    if db.vendor != "postgresql":
        yield
        return
    local = db.in_atomic_block
    with db.cursor() as cursor:
        # SET takes no bind parameters; set_config(name, value, is_local) does.
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, %s)",
            [str(settings.DB_LONG_STATEMENT_TIMEOUT_SECONDS * 1000), local],
        )
    try:
        yield
    finally:
        if not local:
            with db.cursor() as cursor:
                cursor.execute("RESET statement_timeout")  # back to the connection's own
