"""Dashboard rollups kept in step with plays.

Whatever changes plays (a poll, an import batch, a merge of tracks) records the span of time it
touched with `rollups_mark` in the same transaction; `rollups_refresh` then rebuilds, from the
plays themselves, every local month that span falls in: per-hour totals (ListeningHour), per-month
and all-time totals of each track, artist and album (EntityMonth, EntityTotal) and listening
sessions. Rebuilding a month rather than adding deltas keeps rollups exact whatever happened
(deletes, merges, refined times); a month holds at most a few thousand plays, so it is cheap.
A change of time zone rebuilds everything.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from scrobbler.localtime import day_number, day_start, month_after, months_between, offset_spans
from scrobbler.models import (
    EntityKind,
    EntityMonth,
    EntityTotal,
    ListeningHour,
    ListeningSession,
    Play,
    RollupDirty,
    RollupState,
    Track,
    TrackArtist,
    User,
)
from scrobbler.sql import epoch_ms_sql, json_values_sql, long_queries, sql_params
from scrobbler.tasks import rollups_refresh as rollups_refresh_task

SESSION_GAP = timedelta(minutes=20)
# Past this many changed entities, totals are rebuilt whole rather than entity by entity.
TOTALS_REBUILD_ENTITIES = 20_000


def rollups_mark(*, user_id: int, since: datetime, until: datetime) -> None:
    """Plays of the user ending in [since, until] were added, changed or removed."""
    RollupDirty.objects.create(user_id=user_id, since=since, until=until)


def rollups_mark_tracks(track_ids: Sequence[int]) -> None:
    """These tracks' credits (artists, album) changed: every user's plays of them are stale."""
    if not track_ids:
        return
    q = connection.ops.quote_name
    # Our own table names; the ids are a parameter.
    sql = (
        f"INSERT INTO {q(RollupDirty._meta.db_table)} (user_id, since, until) "  # noqa: S608
        f"SELECT user_id, MIN(ended_at), MAX(ended_at) FROM {q(Play._meta.db_table)} "
        f"WHERE track_id IN ({json_values_sql(integers=True)}) GROUP BY user_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(list(track_ids))])


def rollups_stale(user: User) -> bool:
    """Whether the user's rollups lag behind their plays (a refresh is due or running)."""
    state = RollupState.objects.filter(user=user).values_list("time_zone", flat=True).first()
    if state is not None and state != user.time_zone:
        return True
    return RollupDirty.objects.filter(user=user).exists()


def rollups_refresh(user_id: int) -> bool:
    """Rebuild what changes to the user's plays made stale. Returns whether anything was."""
    RollupState.objects.bulk_create([RollupState(user_id=user_id)], ignore_conflicts=True)
    with transaction.atomic(), long_queries():  # a rebuild reads all of a user's plays
        # One refresh per user at a time: a second one waits, then finds less (or nothing) to do.
        state = RollupState.objects.select_for_update().get(user_id=user_id)
        zone_name = User.objects.values_list("time_zone", flat=True).get(pk=user_id)
        dirty = list(
            RollupDirty.objects.filter(user_id=user_id).values_list("pk", "since", "until")
        )
        rebuild = state.time_zone != zone_name
        if not dirty and not rebuild:
            return False
        tz = ZoneInfo(zone_name)
        keys_before: set[tuple[int, int]] | None
        if rebuild:
            months = _months_with_plays(user_id, tz)
            keys_before = None  # totals are rebuilt whole
            _rows_delete(user_id, months=None)
        else:
            months = sorted(
                {
                    month
                    for _, since, until in dirty
                    for month in months_between(
                        since.astimezone(tz).date(), until.astimezone(tz).date()
                    )
                }
            )
            keys_before = _entity_keys(user_id, months)
            _rows_delete(user_id, months=months)
        for month in months:
            _month_build(user_id, month, tz)
        _credits_build(user_id, months)
        _totals_build(user_id, months, keys_before)
        _sessions_build(user_id, months, tz, everything=rebuild)
        RollupDirty.objects.filter(pk__in=[pk for pk, _, _ in dirty]).delete()
        state.time_zone = zone_name
        state.version += 1
        state.refreshed_at = timezone.now()
        state.save(update_fields=["time_zone", "version", "refreshed_at"])
    return True


def rollups_refresh_later(*, user_id: int) -> None:
    """Have a worker refresh the user's rollups once the current transaction commits (other
    rooms call this, never the task). Robust: a broker out of reach must not fail the change
    that asked; housekeeping refreshes stale rollups within ROLLUPS_HOUSEKEEPING_SECONDS."""
    transaction.on_commit(lambda: rollups_refresh_task.delay(user_id), robust=True)


def rollups_refresh_stale() -> int:
    """Refresh every user whose rollups lag (work a crash or another process left). Returns how
    many were refreshed."""
    users = set(RollupDirty.objects.values_list("user_id", flat=True).distinct())
    users |= {
        pk
        for pk, zone, built in RollupState.objects.values_list(
            "user_id", "user__time_zone", "time_zone"
        )
        if zone != built
    }
    return sum(rollups_refresh(user_id) for user_id in sorted(users))


def _months_with_plays(user_id: int, tz: ZoneInfo) -> list[date]:
    bounds = Play.objects.filter(user_id=user_id).aggregate(
        first=Min("ended_at"), last=Max("ended_at")
    )
    if bounds["first"] is None:
        return []
    return months_between(
        bounds["first"].astimezone(tz).date(), bounds["last"].astimezone(tz).date()
    )


def _rows_delete(user_id: int, *, months: list[date] | None) -> None:
    """Delete the user's rollups (of `months` only, when given; sessions are left to
    _sessions_build)."""
    hours = ListeningHour.objects.filter(user_id=user_id)
    entity_months = EntityMonth.objects.filter(user_id=user_id)
    if months is None:
        EntityTotal.objects.filter(user_id=user_id).delete()
        hours.delete()
        entity_months.delete()
        return
    # Dirty months come in runs (an import's whole history, a poll's one month): delete by run.
    for first, last in _runs(months):
        hours.filter(day__gte=day_number(first), day__lt=day_number(month_after(last))).delete()
        entity_months.filter(month__gte=first, month__lte=last).delete()


def _runs(months: list[date]) -> list[tuple[date, date]]:
    """Sorted months as runs of consecutive ones: [(first, last)]."""
    runs: list[tuple[date, date]] = []
    for month in months:
        if runs and month_after(runs[-1][1]) == month:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs


def _entity_keys(user_id: int, months: list[date]) -> set[tuple[int, int]]:
    """(kind, entity id) of everything the user heard in these months, as rolled up now."""
    keys: set[tuple[int, int]] = set()
    for first, last in _runs(months):
        keys.update(
            EntityMonth.objects.filter(
                user_id=user_id, month__gte=first, month__lte=last
            ).values_list("kind", "entity_id")
        )
    return keys


# Each month's tracks and hours in an INSERT … SELECT over the month's plays; artists and albums
# from the months' tracks (a play counts once for each of its track's artists).
_PLAY = Play._meta.db_table
_MONTH_COLUMNS = (
    "(user_id, kind, entity_id, month, listens, plays, skips, ms_played, first_at, last_at)"
)
_FROM_TRACKS = {
    EntityKind.ARTIST: (
        "ta.artist_id",
        f"JOIN {TrackArtist._meta.db_table} ta ON ta.track_id = m.entity_id",
    ),
    EntityKind.ALBUM: (
        "t.album_id",
        f"JOIN {Track._meta.db_table} t ON t.id = m.entity_id AND t.album_id IS NOT NULL",
    ),
}


def _month_build(user_id: int, month: date, tz: ZoneInfo) -> None:
    since, until = day_start(month, tz), day_start(month_after(month), tz)
    params = sql_params([user_id, since, until])
    with connection.cursor() as cursor:
        # Our own table and column names; values are parameters.
        cursor.execute(
            f"INSERT INTO {EntityMonth._meta.db_table} {_MONTH_COLUMNS} "  # noqa: S608
            "SELECT p.user_id, %s, p.track_id, %s, COUNT(*), "
            "SUM(CASE WHEN p.counted THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN p.skipped THEN 1 ELSE 0 END), SUM(p.ms_played), "
            "MIN(CASE WHEN p.counted THEN p.ended_at END), "
            "MAX(CASE WHEN p.counted THEN p.ended_at END) "
            f"FROM {_PLAY} p WHERE p.user_id = %s AND p.ended_at >= %s AND p.ended_at < %s "
            "GROUP BY p.user_id, p.track_id",
            [int(EntityKind.TRACK), *sql_params([month]), *params],
        )
        # Local hours by whole-ms arithmetic: UTC + the zone's offset, which changes at most at
        # the month's daylight-saving switches.
        spans = offset_spans(since, until, tz)
        switches = " ".join(["WHEN p.ended_at < %s THEN %s"] * (len(spans) - 1))
        offset = f"CASE {switches} ELSE %s END" if switches else "%s"
        offset_params: list[Any] = []
        for (_, ms), (switch, _) in itertools.pairwise(spans):
            offset_params += [*sql_params([switch]), ms]
        offset_params.append(spans[-1][1])
        cursor.execute(
            f"INSERT INTO {ListeningHour._meta.db_table} "  # noqa: S608
            "(user_id, day, hour, weekday, listens, plays, skips, ms_played) "
            "SELECT %s, h / 24, h %% 24, (h / 24 + 3) %% 7, "
            "COUNT(*), SUM(counted), SUM(skipped), SUM(ms_played) FROM ("
            f"SELECT ({epoch_ms_sql('p.ended_at', vendor=connection.vendor)} + {offset}) / 3600000 AS h, "
            "CASE WHEN p.counted THEN 1 ELSE 0 END AS counted, "
            "CASE WHEN p.skipped THEN 1 ELSE 0 END AS skipped, p.ms_played "
            f"FROM {_PLAY} p WHERE p.user_id = %s AND p.ended_at >= %s AND p.ended_at < %s"
            ") AS local_plays GROUP BY h",
            [user_id, *offset_params, *params],
        )


def _credits_build(user_id: int, months: list[date]) -> None:
    """Artists' and albums' months from the tracks' months, a run of months at a time."""
    with connection.cursor() as cursor:
        for first, last in _runs(months):
            for kind, (entity, join) in _FROM_TRACKS.items():
                cursor.execute(
                    f"INSERT INTO {EntityMonth._meta.db_table} {_MONTH_COLUMNS} "  # noqa: S608
                    f"SELECT m.user_id, %s, {entity}, m.month, SUM(m.listens), SUM(m.plays), "
                    "SUM(m.skips), SUM(m.ms_played), MIN(m.first_at), MAX(m.last_at) "
                    f"FROM {EntityMonth._meta.db_table} m {join} "
                    "WHERE m.user_id = %s AND m.kind = %s AND m.month >= %s AND m.month <= %s "
                    f"GROUP BY m.user_id, m.month, {entity}",
                    [int(kind), user_id, int(EntityKind.TRACK), *sql_params([first, last])],
                )


def _totals_build(
    user_id: int, months: list[date], keys_before: set[tuple[int, int]] | None
) -> None:
    """All-time totals from the monthly rollups: whole, or for the entities heard in the rebuilt
    months before or after."""
    select = (
        f"INSERT INTO {EntityTotal._meta.db_table} "  # noqa: S608
        "(user_id, kind, entity_id, listens, plays, skips, ms_played, first_at, last_at) "
        "SELECT user_id, kind, entity_id, SUM(listens), SUM(plays), SUM(skips), SUM(ms_played), "
        f"MIN(first_at), MAX(last_at) FROM {EntityMonth._meta.db_table} WHERE user_id = %s"
    )
    group = " GROUP BY user_id, kind, entity_id"
    with connection.cursor() as cursor:
        if keys_before is None:
            cursor.execute(select + group, [user_id])
            return
        keys = keys_before | _entity_keys(user_id, months)
        if len(keys) > TOTALS_REBUILD_ENTITIES:
            EntityTotal.objects.filter(user_id=user_id).delete()
            cursor.execute(select + group, [user_id])
            return
        which = f" AND kind = %s AND entity_id IN ({json_values_sql(integers=True)})"
        for kind in EntityKind:
            params: list[Any] = [user_id, int(kind), json.dumps([e for k, e in keys if k == kind])]
            delete = f"DELETE FROM {EntityTotal._meta.db_table} WHERE user_id = %s"  # noqa: S608
            cursor.execute(delete + which, params)
            cursor.execute(select + which + group, params)


def _sessions_build(user_id: int, months: list[date], tz: ZoneInfo, *, everything: bool) -> None:
    """Rebuild the listening sessions touching the rebuilt months (sessions run across month
    ends, so the span grows to the whole sessions at its edges)."""
    sessions = ListeningSession.objects.filter(user_id=user_id)
    if everything:
        sessions.delete()
        span, span_params = "", []
    else:
        if not months:
            return
        since, until = day_start(months[0], tz), day_start(month_after(months[-1]), tz)
        # A play ending in the months may start before them, within reach of an earlier session.
        first = Play.objects.filter(user_id=user_id, ended_at__gte=since, ended_at__lt=until)
        first_start = first.aggregate(first=Min("started_at"))["first"]
        low = min(since, first_start or since) - SESSION_GAP
        high = until + SESSION_GAP
        touching = sessions.filter(ended_at__gte=low, started_at__lte=high)
        edges = touching.aggregate(first=Min("started_at"), last=Max("ended_at"))
        low = min(low + SESSION_GAP, edges["first"] or high)
        high = max(high - SESSION_GAP, edges["last"] or low)
        touching.delete()
        span, span_params = " AND p.ended_at >= %s AND p.ended_at <= %s", sql_params([low, high])
    # Plays in order of start; one starts a session when it starts more than the gap after the
    # latest end before it. Numbering the starts gives each play its session.
    plays = (
        "SELECT p.id, p.user_id, p.started_at, p.ended_at, p.ms_played, "  # noqa: S608
        f"{epoch_ms_sql('p.started_at', vendor=connection.vendor)} AS s, {epoch_ms_sql('p.ended_at', vendor=connection.vendor)} AS e "
        f"FROM {_PLAY} p WHERE p.user_id = %s{span}"
    )
    starts = (
        "SELECT *, CASE WHEN s - MAX(e) OVER (ORDER BY s, id ROWS BETWEEN UNBOUNDED PRECEDING "  # noqa: S608
        f"AND 1 PRECEDING) <= %s THEN 0 ELSE 1 END AS starts FROM ({plays}) AS p"
    )
    numbered = f"SELECT *, SUM(starts) OVER (ORDER BY s, id ROWS UNBOUNDED PRECEDING) AS session_no FROM ({starts}) AS f"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ListeningSession._meta.db_table} "  # noqa: S608
            "(user_id, started_at, ended_at, listens, ms_played, duration_ms) "
            "SELECT user_id, MIN(started_at), MAX(ended_at), COUNT(*), SUM(ms_played), "
            f"MAX(e) - MIN(s) FROM ({numbered}) AS n GROUP BY user_id, session_no",
            [SESSION_GAP // timedelta(milliseconds=1), user_id, *span_params],
        )
