"""Storing plays, from any source, without ever storing one listen twice, whichever paths report it.

- `plays_record` stores the plays the tracking engine detected (a poll's, or a replayed poll
  log's): their tracks into the catalog first, then the plays not already stored.
- `history_record` runs recently-played items through an account's engine and stores the plays.
- `play_thresholds` is the user's rule for when a listen counts as a play (polling, replays and
  local playback all count by it; the rule itself is the engine's `counts_as_play`).
- `plays_unrecorded` and `stored_listens` tell which reported listens are stored already
  (imports use them too), by `scrobbler.dedupe`'s matching.
- `plays_merge_tracks` is the plays' part of merging a local track into its Spotify twin.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Func
from django.utils.dateparse import parse_datetime

from ops.counters import PLAYS_RECORDED, counters_add
from scrobbler.catalog import catalog_upsert, track_entry
from scrobbler.dedupe import MAX_WINDOW_MS, Listen, ListenRow, match
from scrobbler.epoch import moment_of, ms_of, now_ms
from scrobbler.models import Play, User
from scrobbler.rollups import rollups_mark
from scrobbler.sql import epoch_ms_sql
from scrobbler.tracking import DetectedPlay, Observation, Tracker


def stored_listens(
    *, user_id: int, first_ms: int, last_ms: int, aliases: Mapping[int, int] | None = None
) -> list[ListenRow]:
    """The user's stored plays that could be one of the listens ending in [first, last], keyed by
    primary key; `aliases` maps a track id to the one it is being merged into."""
    margin = timedelta(milliseconds=MAX_WINDOW_MS)
    query = (
        Play.objects.filter(
            user_id=user_id,
            ended_at__gte=moment_of(first_ms) - margin,
            ended_at__lte=moment_of(last_ms) + margin,
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


def plays_record(*, user_id: int, detected: list[DetectedPlay]) -> int:
    """Store detected plays (catalog first); a listen already stored is not stored again.
    Returns how many were new."""
    entries = [(play, track_entry(play.track)) for play in detected]
    entries = [(play, entry) for play, entry in entries if entry is not None]
    if not entries:
        return 0
    track_ids = catalog_upsert(entry for _, entry in entries if entry is not None)
    plays = [
        Play(
            user_id=user_id,
            track_id=track_ids[entry.uri],
            started_at=moment_of(play.started_at_ms),
            ended_at=moment_of(play.ended_at_ms),
            ms_played=play.ms_played,
            source=Play.Source.LIVE if play.source == "live" else Play.Source.HISTORY,
            counted=play.counted,
            skipped=play.skipped,
        )
        for play, entry in entries
        if entry is not None
    ]
    # A listen may already be stored from another path (an import, or live and history both).
    unique = list({(p.track_id, p.ended_at): p for p in plays}.values())
    new = plays_unrecorded(user_id=user_id, plays=unique)
    # ignore_conflicts: another path may store the same listen between the read and the write.
    Play.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        ends = [p.ended_at for p in new]
        rollups_mark(user_id=user_id, since=min(ends), until=max(ends))
        counters_add(Counter((PLAYS_RECORDED, p.source) for p in new))
    return len(new)


def history_record(
    *, user_id: int, items: list[Any], tracker: Tracker | None = None, at_ms: int | None = None
) -> tuple[int, int | None]:
    """Reconcile recently-played items with what was seen live (the account's `tracker`) and
    store the plays that come out. Returns (plays newly stored, newest played_at in epoch ms)."""
    if tracker is None:
        play_min_ms, play_min_ratio = play_thresholds(user_id)
        tracker = Tracker(play_min_ms=play_min_ms, play_min_ratio=play_min_ratio)
    at = at_ms if at_ms is not None else now_ms()
    detected = tracker.observe(Observation(at, "recently-played", 200, {"items": items}))
    newest = None
    for item in items:
        played_at = (
            parse_datetime(str(item.get("played_at") or "")) if isinstance(item, dict) else None
        )
        if played_at is not None and played_at.tzinfo is not None:
            stamp = ms_of(played_at)
            newest = stamp if newest is None else max(newest, stamp)
    return plays_record(user_id=user_id, detected=detected), newest


def play_thresholds(user_id: int) -> tuple[int, float | None]:
    """(ms, share of the track) after which a listen counts as a play: the user's own choice,
    else the site's."""
    seconds, percent = User.objects.values_list("play_min_seconds", "play_min_percent").get(
        pk=user_id
    )
    return (
        seconds * 1000 if seconds is not None else settings.PLAY_MIN_MS,
        percent / 100 if percent is not None else settings.PLAY_MIN_RATIO,
    )


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
