"""Storing plays without ever storing one listen twice, whichever paths report it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import BigIntegerField, Func

from scrobbler.dedupe import EPOCH, MAX_WINDOW_MS, Listen, ListenRow, match, moment_of, ms_of
from scrobbler.models import Play
from scrobbler.rollups import rollups_mark
from scrobbler.sql import epoch_ms_sql


def stored_listens(
    *, user_id: int, first_ms: int, last_ms: int, aliases: Mapping[int, int] | None = None
) -> list[ListenRow]:
    """The user's stored plays that could be one of the listens ending in [first, last], keyed by
    primary key; `aliases` maps a track id to the one it is being merged into."""
    margin = timedelta(milliseconds=MAX_WINDOW_MS)
    query = (
        Play.objects.filter(
            user_id=user_id,
            ended_at__gte=EPOCH + timedelta(milliseconds=first_ms) - margin,
            ended_at__lte=EPOCH + timedelta(milliseconds=last_ms) + margin,
        )
        .annotate(ended_ms=EpochMs("ended_at"))
        .values_list("pk", "track_id", "ended_ms", "source")
        .query
    )
    # Rows straight from the cursor: an import matches a million of them, and the queryset's
    # per-row machinery costs more than the database does.
    with connection.cursor() as cursor:
        cursor.execute(*query.sql_with_params())
        rows = cursor.fetchall()
    if aliases:
        return [(aliases.get(t, t), ended, source, pk) for pk, t, ended, source in rows]
    return [(t, ended, source, pk) for pk, t, ended, source in rows]


class EpochMs(Func):
    """A timestamp as integer milliseconds since the epoch, computed by the database (turning a
    million timestamps into datetimes in Python takes seconds)."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = epoch_ms_sql("%(expressions)s", vendor="postgresql")
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = epoch_ms_sql("%(expressions)s", vendor="sqlite")
        return self.as_sql(compiler, connection, template=template, **extra)


def plays_unrecorded(*, user_id: int, plays: list[Play]) -> list[Play]:
    """The plays (unsaved, one user's) that are not already stored as the same listen."""
    if not plays:
        return []
    reported = [Listen(p.track_id, ms_of(p.ended_at), p.source, i) for i, p in enumerate(plays)]
    stored = stored_listens(
        user_id=user_id,
        first_ms=min(r.ended_ms for r in reported),
        last_ms=max(r.ended_ms for r in reported),
    )
    known = match(reported, stored)
    return [p for i, p in enumerate(plays) if i not in known]


@transaction.atomic
def plays_merge_tracks(aliases: Mapping[int, int]) -> None:
    """Move the plays of `local:` tracks to the Spotify tracks they turned out to be ({local id:
    real id}), except listens the real track already has (e.g. the same listen from Account Data
    and from Extended Streaming History). The rest of a merge is catalog.catalog_merge_tracks."""
    if not aliases:
        return
    rows = Play.objects.filter(track_id__in={*aliases, *aliases.values()}).values_list(
        "pk", "user_id", "track_id", "ended_at", "source"
    )
    moving: dict[int, list[Listen]] = defaultdict(list)
    staying: dict[int, list[Listen]] = defaultdict(list)
    for pk, user_id, track_id, ended_at, source in rows:
        side = moving if track_id in aliases else staying
        side[user_id].append(Listen(aliases.get(track_id, track_id), ms_of(ended_at), source, pk))
    repeated: list[int] = []
    for user_id, listens in moving.items():
        repeated.extend(match(listens, staying.get(user_id, [])))
        ends = [moment_of(listen.ended_ms) for listen in listens]
        rollups_mark(user_id=user_id, since=min(ends), until=max(ends))
    Play.objects.filter(pk__in=repeated).delete()
    for local_id, real_id in aliases.items():
        Play.objects.filter(track_id=local_id).update(track_id=real_id)
