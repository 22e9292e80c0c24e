"""Dashboard rollups and selectors give exactly what the raw plays give.

Random listening histories (seeded) go through `rollups_refresh`; every rollup row and every
selector in `dashboard.stats` is then compared with an answer worked out in plain Python from the
Play rows, for many periods, and again after each kind of change the rollups must follow: new
plays, deleted plays, merged tracks, new credits and a new time zone. The reference code below
is deliberately naive: one pass over the plays per question.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Max, Min

from dashboard.periods import Period, period_parse
from dashboard.stats.activity import STEPS, Streaks, activity, heatmap, streaks
from dashboard.stats.entities import RankPoint, rank_history
from dashboard.stats.habits import (
    PLAY_BUCKETS,
    SESSION_BUCKETS,
    Distribution,
    distribution,
    sessions,
)
from dashboard.stats.history import on_this_day
from dashboard.stats.overview import first_day, totals, variety
from dashboard.stats.rollups import KINDS, Totals
from dashboard.stats.tops import TOP_ORDERS, TopRow, top
from scrobbler import rollups
from scrobbler.catalog import catalog_merge_tracks
from scrobbler.localtime import day_number, day_start, local_day, month_after, month_start
from scrobbler.models import (
    Album,
    Artist,
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
from scrobbler.rollups import (
    SESSION_GAP,
    rollups_mark,
    rollups_mark_tracks,
    rollups_refresh,
    rollups_refresh_stale,
    rollups_stale,
)
from tests.factories import AlbumFactory, ArtistFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=False)

MS = timedelta(milliseconds=1)
FIRST = datetime(2023, 2, 10, tzinfo=UTC)
LAST = datetime(2024, 4, 20, tzinfo=UTC)  # 14 months: three daylight-saving switches each way
BERLIN = ZoneInfo("Europe/Berlin")
# Around these local month starts (Berlin), the history has one play ending 22 minutes before
# the first and one starting 15 minutes after the second, and nothing else for hours: sessions
# that only new plays join up.
QUIET = (date(2023, 7, 1), date(2023, 9, 1))
SOURCES = [s.value for s in Play.Source]
PLAY_LABELS = ["1", "2-4", "5-9", "10-24", "25-49", "50-99", "100+"]


# --- Random histories ------------------------------------------------------------------------


@dataclass
class Catalog:
    tracks: list[Track]
    artists: list[Artist]
    albums: list[Album]


def catalog_make(rng: random.Random, *, tracks: int = 24) -> Catalog:
    artists = ArtistFactory.create_batch(10)
    albums = AlbumFactory.create_batch(6)
    made = [
        TrackFactory.create(
            album=None if i % 4 == 3 else rng.choice(albums),
            artists=rng.sample(artists, rng.randint(1, 3)),
        )
        for i in range(tracks)
    ]
    return Catalog(made, artists, albums)


def moment_random(rng: random.Random, since: datetime, until: datetime) -> datetime:
    return since + rng.randrange((until - since) // MS) * MS


def play_make(
    rng: random.Random,
    user: User,
    track: Track,
    *,
    ended: datetime | None = None,
    started: datetime | None = None,
    ms: int | None = None,
    paused: int | None = None,
) -> Play:
    """A listen of `ms` heard (random if not given) ending at `ended` or starting at `started`,
    perhaps paused for a while."""
    if ms is None:
        ms = rng.randint(0, 29_999) if rng.random() < 0.3 else rng.randint(30_000, 420_000)
    if paused is None:
        paused = rng.choice([0, 0, 0, rng.randint(1, 600_000)])
    if ended is None:
        assert started is not None
        ended = started + (ms + paused) * MS
    counted = (ms >= 30_000) if rng.random() < 0.9 else (ms < 30_000)
    return Play(
        user=user,
        track=track,
        started_at=ended - (ms + paused) * MS,
        ended_at=ended,
        ms_played=ms,
        source=rng.choice(SOURCES),
        counted=counted,
        skipped=not counted and rng.random() < 0.7,
    )


def listening_make(
    rng: random.Random,
    user: User,
    tracks: list[Track],
    *,
    sessions: int,
    since: datetime = FIRST,
    until: datetime = LAST,
) -> list[Play]:
    """Sittings of back-to-back plays: some overlapping, some exactly a session gap apart, some
    just over, and long silences between sittings."""
    plays: list[Play] = []
    for _ in range(sessions):
        started = moment_random(rng, since, until)
        for _ in range(rng.randint(1, 14)):
            play = play_make(rng, user, rng.choice(tracks), started=started)
            plays.append(play)
            gap = rng.choice(
                [
                    0 * MS,
                    1 * MS,
                    rng.randint(0, 300_000) * MS,
                    -rng.randint(1, 60_000) * MS,
                    SESSION_GAP,
                    SESSION_GAP + MS,
                    rng.randint(0, 3 * 3_600_000) * MS,
                ]
            )
            started = play.ended_at + gap
    return plays


def play_copy(play: Play, user: User) -> Play:
    return Play(
        user=user,
        track_id=play.track_id,
        started_at=play.started_at,
        ended_at=play.ended_at,
        ms_played=play.ms_played,
        source=play.source,
        counted=play.counted,
        skipped=play.skipped,
    )


def edges_make(rng: random.Random, user: User, tracks: list[Track], zones: list[str]) -> list[Play]:
    """Plays ending exactly at, and 1 ms before, local month starts and daylight-saving switches."""
    plays = []
    for zone in zones:
        tz = ZoneInfo(zone)
        month = month_start(local_day(FIRST, tz))
        while day_start(month, tz) < LAST:
            if rng.random() < 0.4:
                edge = day_start(month, tz)
                for end in (edge, edge - MS):
                    plays.append(play_make(rng, user, rng.choice(tracks), ended=end))
            month = month_after(month)
    # Berlin, New York and Lord Howe (half an hour), each way.
    switches = [datetime(2023, 3, 26, 1, tzinfo=UTC), datetime(2023, 10, 29, 1, tzinfo=UTC)]
    switches += [datetime(2023, 11, 5, 6, tzinfo=UTC), datetime(2024, 3, 10, 7, tzinfo=UTC)]
    switches += [datetime(2023, 9, 30, 15, 30, tzinfo=UTC), datetime(2024, 4, 6, 15, tzinfo=UTC)]
    for switch in switches:
        for end in (switch - MS, switch, switch + 30 * 60_000 * MS):
            plays.append(play_make(rng, user, rng.choice(tracks), ended=end))
    return plays


def quiet(play: Play) -> bool:
    """Whether a play falls in the hours around a QUIET month start."""
    return any(
        abs(play.ended_at - day_start(month, BERLIN)) < timedelta(hours=4)
        or abs(play.started_at - day_start(month, BERLIN)) < timedelta(hours=4)
        for month in QUIET
    )


def plays_store(plays: Iterable[Play]) -> list[Play]:
    """Bulk-create the plays (one listen per user, track and end) and mark their span."""
    new = {(p.user_id, p.track_id, p.ended_at): p for p in plays}
    stored = set(
        Play.objects.filter(
            user_id__in={p.user_id for p in new.values()},
            ended_at__gte=min(p.ended_at for p in new.values()),
            ended_at__lte=max(p.ended_at for p in new.values()),
        ).values_list("user_id", "track_id", "ended_at")
    )
    unique = [p for key, p in new.items() if key not in stored]
    Play.objects.bulk_create(unique)
    for user_id in {p.user_id for p in unique}:
        ends = [p.ended_at for p in unique if p.user_id == user_id]
        rollups_mark(user_id=user_id, since=min(ends), until=max(ends))
    return unique


@dataclass
class History:
    rng: random.Random
    catalog: Catalog
    alice: User
    bob: User


@pytest.fixture
def history(alice: User, bob: User) -> History:
    rng = random.Random(20240517)
    alice.time_zone = "Europe/Berlin"
    alice.save(update_fields=["time_zone"])
    bob.time_zone = "America/New_York"
    bob.save(update_fields=["time_zone"])
    catalog = catalog_make(rng)
    tracks = catalog.tracks
    zones = ["Europe/Berlin", "America/Sao_Paulo", "Asia/Tokyo", "Australia/Lord_Howe", "UTC"]
    plays = listening_make(rng, alice, tracks, sessions=70)
    plays += edges_make(rng, alice, tracks, zones)
    plays = [p for p in plays if not quiet(p)]
    minute = 60_000 * MS
    edge = day_start(QUIET[0], BERLIN)
    plays.append(play_make(rng, alice, tracks[0], ended=edge - 22 * minute, ms=60_000))
    edge = day_start(QUIET[1], BERLIN)
    plays.append(play_make(rng, alice, tracks[1], started=edge + 15 * minute, ms=0, paused=0))
    # Bob hears some of the same tracks at the very same moments, and others.
    plays += [play_copy(p, bob) for p in rng.sample(plays, 40)]
    plays += listening_make(rng, bob, tracks[8:], sessions=20)
    plays_store(plays)
    assert 300 < Play.objects.filter(user=alice).count() < 900
    assert rollups_refresh(alice.pk) is True
    assert rollups_refresh(bob.pk) is True
    return History(rng, catalog, alice, bob)


# --- The reference: answers from the raw plays -------------------------------------------------


@dataclass(frozen=True)
class Heard:
    track_id: int
    artist_ids: tuple[int, ...]
    album_id: int | None
    started: datetime
    ended: datetime
    ms: int
    counted: bool
    skipped: bool
    local: datetime  # the end in the user's zone

    def entities(self, kind: EntityKind) -> tuple[int, ...]:
        if kind == EntityKind.TRACK:
            return (self.track_id,)
        if kind == EntityKind.ARTIST:
            return self.artist_ids
        return () if self.album_id is None else (self.album_id,)


def heard(user: User) -> list[Heard]:
    tz = ZoneInfo(user.time_zone)
    credits: dict[int, list[int]] = defaultdict(list)
    for track_id, artist_id in TrackArtist.objects.values_list("track_id", "artist_id"):
        credits[track_id].append(artist_id)
    albums = dict(Track.objects.values_list("pk", "album_id"))
    rows = Play.objects.filter(user=user).values_list(
        "track_id", "started_at", "ended_at", "ms_played", "counted", "skipped"
    )
    return [
        Heard(t, tuple(credits[t]), albums[t], start, end, ms, counted, skipped, end.astimezone(tz))
        for t, start, end, ms, counted, skipped in rows
    ]


@dataclass
class Tally:
    listens: int = 0
    plays: int = 0
    skips: int = 0
    ms: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, play: Heard) -> None:
        self.listens += 1
        self.plays += play.counted
        self.skips += play.skipped
        self.ms += play.ms
        if play.counted:
            self.first = play.ended if self.first is None else min(self.first, play.ended)
            self.last = play.ended if self.last is None else max(self.last, play.ended)

    def totals(self) -> Totals:
        return Totals(self.listens, self.plays, self.skips, self.ms)


def tally_by(
    plays: Iterable[Heard], keys: Callable[[Heard], Iterable[Hashable]]
) -> dict[Any, Tally]:
    found: dict[Any, Tally] = defaultdict(Tally)
    for play in plays:
        for key in keys(play):
            found[key].add(play)
    return dict(found)


def tally(plays: Iterable[Heard]) -> Tally:
    return tally_by(plays, lambda p: [None]).get(None, Tally())


def within(plays: list[Heard], period: Period) -> list[Heard]:
    assert not plays or period.tz is plays[0].local.tzinfo
    return [p for p in plays if period.start <= p.local.date() <= period.end]


def sessions_of(plays: list[Heard]) -> list[tuple[datetime, datetime, int, int, int]]:
    """(start, end, listens, ms played, duration ms): plays by start, a new session when one
    starts more than SESSION_GAP after the latest end so far."""
    found: list[list[Any]] = []
    for play in sorted(plays, key=lambda p: p.started):
        if found and play.started - found[-1][1] <= SESSION_GAP:
            found[-1][1] = max(found[-1][1], play.ended)
            found[-1][2] += 1
            found[-1][3] += play.ms
        else:
            found.append([play.started, play.ended, 1, play.ms])
    return [(s, e, n, ms, (e - s) // MS) for s, e, n, ms in found]


def rank_of(plays: dict[int, int]) -> dict[int, int]:
    """RANK() by plays, highest first, of the entities with at least one play."""
    return {e: 1 + sum(other > n for other in plays.values()) for e, n in plays.items() if n}


# --- Comparisons ------------------------------------------------------------------------------


def check_rollups(user: User, plays: list[Heard]) -> None:
    hours = tally_by(
        plays, lambda p: [(day_number(p.local.date()), p.local.hour, p.local.weekday())]
    )
    assert sorted(
        ListeningHour.objects.filter(user=user).values_list(
            "day", "hour", "weekday", "listens", "plays", "skips", "ms_played"
        )
    ) == sorted((*key, t.listens, t.plays, t.skips, t.ms) for key, t in hours.items())

    months = tally_by(
        plays,
        lambda p: [(k, e, month_start(p.local.date())) for k in EntityKind for e in p.entities(k)],
    )
    assert sorted(
        EntityMonth.objects.filter(user=user).values_list(
            "kind",
            "entity_id",
            "month",
            "listens",
            "plays",
            "skips",
            "ms_played",
            "first_at",
            "last_at",
        )
    ) == sorted(
        (*key, t.listens, t.plays, t.skips, t.ms, t.first, t.last) for key, t in months.items()
    )

    totals = tally_by(plays, lambda p: [(k, e) for k in EntityKind for e in p.entities(k)])
    assert sorted(
        EntityTotal.objects.filter(user=user).values_list(
            "kind", "entity_id", "listens", "plays", "skips", "ms_played", "first_at", "last_at"
        )
    ) == sorted(
        (*key, t.listens, t.plays, t.skips, t.ms, t.first, t.last) for key, t in totals.items()
    )

    assert sorted(
        ListeningSession.objects.filter(user=user).values_list(
            "started_at", "ended_at", "listens", "ms_played", "duration_ms"
        )
    ) == sessions_of(plays)
    state = RollupState.objects.get(user=user)
    assert state.time_zone == user.time_zone
    assert not RollupDirty.objects.filter(user=user).exists()
    assert not rollups_stale(user)


def periods_random(rng: random.Random, user: User, plays: list[Heard], count: int) -> list[Period]:
    tz = ZoneInfo(user.time_zone)
    days = sorted({p.local.date() for p in plays})
    first, last = days[0], days[-1]

    def day_near() -> date:
        return first - timedelta(days=20) + timedelta(days=rng.randint(0, (last - first).days + 40))

    def parse(key: str, *, today: date | None = None) -> Period:
        return period_parse(
            {"range": key},
            today=today or last + timedelta(days=2),
            tz=tz,
            first_day=first_day(user),
        )

    def custom(start: date, end: date) -> Period:
        params = {"range": "custom", "from": start.isoformat(), "to": end.isoformat()}
        return period_parse(params, today=last, tz=tz, first_day=None)

    found = [parse("all"), parse(str(first.year)), parse(str(last.year))]
    found += [parse(key, today=rng.choice(days)) for key in ("today", "7d", "30d", "year")]
    found.append(custom(first, last))
    while len(found) < count:
        shape = rng.choice(["random", "random", "months", "ragged", "short"])
        start = day_near()
        if shape == "months":
            start = month_start(start)
            end = start
            for _ in range(rng.randint(1, 4)):
                end = month_after(end)
            found.append(custom(start, end - timedelta(days=1)))
        elif shape == "ragged":
            end = month_after(month_after(month_start(start))) + timedelta(days=rng.randint(0, 27))
            found.append(custom(start, end))
        elif shape == "short":
            found.append(custom(start, start + timedelta(days=rng.randint(0, 12))))
        else:
            end = day_near()
            found.append(custom(min(start, end), max(start, end)))
    return found


def top_expected(
    plays: list[Heard], period: Period, kind: EntityKind, order: str
) -> list[tuple[Any, ...]]:
    """Every row `top` should give, in its order: (id, rank, plays, listens, skips, ms played,
    first and last play ever, rank in the previous period)."""
    now = tally_by(within(plays, period), lambda p: p.entities(kind))
    ever = tally_by(plays, lambda p: p.entities(kind))
    ranks = rank_of({e: t.plays for e, t in now.items()})
    previous = period.previous()
    before = {}
    if previous is not None:
        then = tally_by(within(plays, previous), lambda p: p.entities(kind))
        before = rank_of({e: t.plays for e, t in then.items()})
    orders: dict[str, Callable[[int], Any]] = {
        "plays": lambda e: (-now[e].plays, -now[e].ms, e),
        "time": lambda e: (-now[e].ms, -now[e].plays, e),
        "first": lambda e: (ever[e].first, e),
        "last": lambda e: (-((ever[e].last or FIRST) - FIRST) // MS, e),
    }
    return [
        (
            e,
            ranks[e],
            now[e].plays,
            now[e].listens,
            now[e].skips,
            now[e].ms,
            ever[e].first,
            ever[e].last,
            before.get(e),
        )
        for e in sorted(ranks, key=orders[order])
    ]


def top_values(row: TopRow) -> tuple[Any, ...]:
    names = "entity_id rank plays listens skips ms_played first_at last_at previous_rank"
    return tuple(getattr(row, name) for name in names.split())


def check_top(user: User, plays: list[Heard], period: Period, rng: random.Random) -> None:
    """Each kind in one order (chosen at random), a page or two of it."""
    for kind in KINDS.values():
        order = rng.choice(sorted(TOP_ORDERS))
        want = top_expected(plays, period, kind, order)
        per_page = rng.choice([3, 7, 50])
        pages = max(1, -(-len(want) // per_page))
        for page in sorted({1, rng.randint(1, pages)}):
            got = top(user, period, kind, order=order, page=page, per_page=per_page)
            assert (got.total, got.pages) == (len(want), pages), (kind, order, period)
            rows = [top_values(r) for r in got.rows]
            assert rows == want[(page - 1) * per_page : page * per_page], (kind, order, page)
            assert all(r.entity.pk == r.entity_id for r in got.rows)
            assert all(type(v) is int for row in rows for v in row[2:6])


def check_period(user: User, plays: list[Heard], period: Period, rng: random.Random) -> None:
    inside = within(plays, period)
    assert totals(user, period) == tally(inside).totals(), period

    first_counted: dict[tuple[EntityKind, int], datetime] = {}
    for p in sorted(plays, key=lambda p: p.ended):
        for kind in EntityKind:
            for e in p.entities(kind):
                if p.counted:
                    first_counted.setdefault((kind, e), p.ended)
    got_variety = variety(user, period)
    for name, kind in KINDS.items():
        assert got_variety.distinct[name] == len(
            {e for p in inside if p.counted for e in p.entities(kind)}
        )
        assert got_variety.new[name] == sum(
            k == kind and period.since <= at < period.until for (k, _), at in first_counted.items()
        ), (name, period)

    check_top(user, plays, period, rng)

    grid = [[0] * 24 for _ in range(7)]
    for p in inside:
        grid[p.local.weekday()][p.local.hour] += p.counted
    assert heatmap(user, period) == grid

    by_day = tally_by(inside, lambda p: [p.local.date()])
    for step in STEPS:
        buckets: dict[date, Tally] = {}
        day = period.start
        while day <= period.end:
            if step == "week":
                key = day - timedelta(days=day.weekday())
            elif step == "month":
                key = day.replace(day=1)
            else:
                key = day
            bucket = buckets.setdefault(key, Tally())
            if day in by_day:
                for attr in ("listens", "plays", "skips", "ms"):
                    setattr(bucket, attr, getattr(bucket, attr) + getattr(by_day[day], attr))
            day += timedelta(days=1)
        assert activity(user, period, step) == [(k, t.totals()) for k, t in buckets.items()]

    today = period.end + timedelta(days=rng.choice([0, 1, 2]))
    runs: list[list[date]] = []
    for day in sorted(d for d, t in by_day.items() if t.plays):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    longest = max(runs, key=lambda r: r[1] - r[0], default=None)
    length = (longest[1] - longest[0]).days + 1 if longest else 0
    current = (
        (runs[-1][1] - runs[-1][0]).days + 1 if runs and (today - runs[-1][1]).days <= 1 else 0
    )
    assert streaks(user, period, today=today) == Streaks(
        length,
        longest[0] if longest else None,
        longest[1] if longest else None,
        current,
        sum((r[1] - r[0]).days + 1 for r in runs),
    )

    durations = sorted(s[4] for s in sessions_of(plays) if period.since <= s[0] < period.until)
    got = sessions(user, period)
    assert got.count == len(durations)
    if durations:
        assert [s.duration_ms for s in got.longest] == sorted(durations, reverse=True)[:5]
        assert got.median_ms == durations[len(durations) // 2]
        assert got.average_ms == sum(durations) // len(durations)
        minute = 60_000
        assert [n for _, n in got.buckets] == [
            sum(low * minute <= d and (high is None or d < high * minute) for d in durations)
            for _, low, high in SESSION_BUCKETS
        ]

    per_track = Counter(p.track_id for p in inside if p.counted)
    per_artist = sorted(
        Counter(a for p in inside if p.counted for a in p.artist_ids).values(), reverse=True
    )
    total = sum(per_artist)
    half, running = 0, 0
    while running * 2 < total:
        running += per_artist[half]
        half += 1
    hhi = sum((n / total) ** 2 for n in per_artist) if total else 0
    got_distribution = distribution(user, period)
    assert got_distribution == Distribution(
        track_buckets=[
            (label, sum(low <= n and (high is None or n <= high) for n in per_track.values()))
            for label, (low, high) in zip(PLAY_LABELS, PLAY_BUCKETS, strict=True)
        ],
        artists=len(per_artist),
        top10_share=sum(per_artist[:10]) / total if total else None,
        half_of_plays=half,
        effective_artists=1 / hhi if hhi else None,
    )
    assert all(
        type(v) is float
        for v in (got_distribution.top10_share, got_distribution.effective_artists)
        if v is not None
    )

    for kind in EntityKind:
        candidates = sorted({e for p in inside for e in p.entities(kind)})
        per_month = tally_by(plays, months_of(kind))
        for entity in rng.sample(candidates, min(2, len(candidates))):
            check_rank_history(user, per_month, kind, entity, period)


def months_of(kind: EntityKind) -> Callable[[Heard], list[tuple[date, int]]]:
    return lambda p: [(month_start(p.local.date()), e) for e in p.entities(kind)]


def check_rank_history(
    user: User,
    per_month: dict[tuple[date, int], Tally],
    kind: EntityKind,
    entity: int,
    period: Period,
) -> None:
    """`per_month`: the kind's tallies by (local month, entity)."""
    points, month = [], month_start(period.start)
    while month <= month_start(period.end):
        ranks = rank_of({e: t.plays for (m, e), t in per_month.items() if m == month})
        n = per_month[(month, entity)].plays if (month, entity) in per_month else 0
        points.append(RankPoint(month, n, ranks.get(entity)))
        month = month_after(month)
    if not any(point.plays for point in points):
        points = []
    assert rank_history(user, kind, entity, period) == points


def check_on_this_day(user: User, plays: list[Heard], today: date) -> None:
    tz = ZoneInfo(user.time_zone)
    want = []
    for back in range(1, 31):
        try:
            day = today.replace(year=today.year - back)
        except ValueError:
            continue
        that_day = [p for p in plays if p.local.date() == day]
        if not tally(that_day).plays:
            continue
        counts = Counter(p.track_id for p in that_day if p.counted)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:3]
        want.append(
            (day, tally(that_day).totals(), [(t, i + 1, n) for i, (t, n) in enumerate(ranked)])
        )
    got = on_this_day(user, today=today, tz=tz)
    assert [
        (d.day, d.totals, [(r.entity_id, r.rank, r.plays) for r in d.tops]) for d in got
    ] == want
    assert all(r.entity.pk == r.entity_id for d in got for r in d.tops)


def check(user: User, rng: random.Random, *, periods: int = 14) -> None:
    """Every rollup row and every selector of the user against the raw plays."""
    user.refresh_from_db()
    plays = heard(user)
    check_rollups(user, plays)
    days = sorted({p.local.date() for p in plays})
    assert first_day(user) == days[0]
    for period in periods_random(rng, user, plays, periods):
        check_period(user, plays, period, rng)
    for today in [rng.choice(days) + timedelta(days=365) for _ in range(3)] + [date(2028, 2, 29)]:
        check_on_this_day(user, plays, today)


# --- Tests ------------------------------------------------------------------------------------


def test_first_refresh_matches_the_raw_plays_of_each_user(history: History) -> None:
    check(history.alice, history.rng, periods=24)
    check(history.bob, history.rng, periods=10)


def test_refresh_with_nothing_stale_does_nothing(history: History) -> None:
    version = RollupState.objects.get(user=history.alice).version
    assert rollups_refresh(history.alice.pk) is False
    assert rollups_refresh_stale() == 0
    assert RollupState.objects.get(user=history.alice).version == version


def test_new_plays_in_the_middle_of_months_are_rolled_up(history: History) -> None:
    rng, alice, tracks = history.rng, history.alice, history.catalog.tracks
    bob_rows = sorted(ListeningHour.objects.filter(user=history.bob).values_list())
    for since, until in [
        (datetime(2023, 5, 3, tzinfo=UTC), datetime(2023, 5, 20, tzinfo=UTC)),
        (datetime(2023, 10, 20, tzinfo=UTC), datetime(2023, 11, 10, tzinfo=UTC)),
        (datetime(2024, 3, 25, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC)),
    ]:
        plays_store(listening_make(rng, alice, tracks, sessions=6, since=since, until=until))
    assert rollups_refresh(alice.pk) is True
    check(alice, rng)
    minute = 60_000 * MS
    # A play across a month start joins the session that ended 22 minutes before it began, in
    # the month before.
    edge = day_start(QUIET[0], BERLIN)
    plays_store([play_make(rng, alice, tracks[2], ended=edge + minute, ms=240_000, paused=0)])
    assert rollups_stale(alice)
    assert rollups_refresh(alice.pk) is True
    check_rollups(alice, heard(alice))
    # A play ending just before a month starts joins the session starting 15 minutes later.
    edge = day_start(QUIET[1], BERLIN)
    plays_store([play_make(rng, alice, tracks[3], ended=edge - MS, ms=50)])
    assert rollups_refresh(alice.pk) is True
    check_rollups(alice, heard(alice))
    check(alice, rng)
    assert sorted(ListeningHour.objects.filter(user=history.bob).values_list()) == bob_rows
    check(history.bob, rng, periods=4)


def test_deleted_plays_leave_the_rollups(history: History) -> None:
    rng, alice = history.rng, history.alice
    doomed = rng.sample(list(Play.objects.filter(user=alice)), 60)
    Play.objects.filter(pk__in=[p.pk for p in doomed]).delete()
    for play in doomed:
        rollups_mark(user_id=alice.pk, since=play.ended_at, until=play.ended_at)
    assert rollups_refresh_stale() == 1
    check(alice, rng)
    check(history.bob, rng, periods=4)


def test_deleting_every_play_of_a_month_empties_it(history: History) -> None:
    alice = history.alice
    since, until = day_start(date(2023, 6, 1), BERLIN), day_start(date(2023, 7, 1), BERLIN)
    Play.objects.filter(user=alice, ended_at__gte=since, ended_at__lt=until).delete()
    rollups_mark(user_id=alice.pk, since=since, until=until - MS)
    rollups_refresh(alice.pk)
    assert not EntityMonth.objects.filter(user=alice, month=date(2023, 6, 1)).exists()
    check(alice, history.rng, periods=8)


def test_totals_are_rebuilt_whole_when_many_entities_changed(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "TOTALS_REBUILD_ENTITIES", 0)
    rng, alice = history.rng, history.alice
    since, until = datetime(2023, 8, 10, tzinfo=UTC), datetime(2023, 8, 20, tzinfo=UTC)
    plays_store(
        listening_make(rng, alice, history.catalog.tracks, sessions=5, since=since, until=until)
    )
    doomed = Play.objects.filter(user=alice, ended_at__lt=datetime(2023, 3, 1, tzinfo=UTC))
    span = doomed.aggregate(since=Min("ended_at"), until=Max("ended_at"))
    doomed.delete()
    rollups_mark(user_id=alice.pk, **span)
    assert rollups_refresh(alice.pk) is True
    check(alice, rng, periods=6)


def test_merged_tracks_move_their_plays_and_totals(history: History) -> None:
    rng, alice, bob = history.rng, history.alice, history.bob
    catalog = history.catalog
    locals_ = [
        TrackFactory.create(
            uri=f"local:{i:040x}", album=None, artists=[rng.choice(catalog.artists)]
        )
        for i in range(4)
    ]
    plays = listening_make(rng, alice, locals_, sessions=12)
    plays += listening_make(rng, bob, locals_, sessions=4)
    # The same listen, already stored under the real track, reported again under a local one.
    for real in Play.objects.filter(user=alice, track__in=catalog.tracks[:4]).order_by("pk")[:5]:
        twin = play_make(rng, alice, locals_[catalog.tracks.index(real.track)], ended=real.ended_at)
        plays.append(twin)
    plays_store(plays)
    assert rollups_refresh_stale() == 2
    check(alice, rng, periods=6)

    catalog_merge_tracks({local.pk: catalog.tracks[i].pk for i, local in enumerate(locals_)})
    assert not Track.objects.filter(pk__in=[t.pk for t in locals_]).exists()
    assert rollups_refresh_stale() == 2
    for local in locals_:
        assert not EntityTotal.objects.filter(kind=EntityKind.TRACK, entity_id=local.pk).exists()
    check(alice, rng)
    check(bob, rng, periods=6)


def test_new_credits_move_plays_between_albums_and_artists(history: History) -> None:
    rng, catalog = history.rng, history.catalog
    with_album = [t for t in catalog.tracks if t.album_id is not None]
    without = [t for t in catalog.tracks if t.album_id is None]
    changed = [with_album[0], with_album[1], without[0]]
    with_album[0].album = next(a for a in catalog.albums if a.pk != with_album[0].album_id)
    with_album[1].album = None
    without[0].album = catalog.albums[0]
    for track in changed:
        track.save(update_fields=["album"])
    recredited = catalog.tracks[5]
    TrackArtist.objects.filter(track=recredited).delete()
    TrackArtist.objects.create(track=recredited, artist=catalog.artists[9], position=0)
    TrackArtist.objects.create(track=recredited, artist=catalog.artists[8], position=1)
    track_ids = [*(t.pk for t in changed), recredited.pk]
    rollups_mark_tracks(track_ids)
    listeners = set(Play.objects.filter(track_id__in=track_ids).values_list("user_id", flat=True))
    assert set(RollupDirty.objects.values_list("user_id", flat=True)) == listeners
    assert rollups_refresh_stale() == len(listeners)
    check(history.alice, rng)
    check(history.bob, rng, periods=6)


def test_a_new_time_zone_rebuilds_everything_in_it(history: History) -> None:
    rng, alice = history.rng, history.alice
    for zone in ["UTC", "America/Sao_Paulo", "Asia/Tokyo", "Australia/Lord_Howe", "Asia/Kathmandu"]:
        alice.time_zone = zone
        alice.save(update_fields=["time_zone"])
        assert rollups_stale(alice)
        assert rollups_refresh_stale() == 1
        check(alice, rng, periods=6)
    check(history.bob, rng, periods=4)


def test_refresh_stale_picks_up_dirty_users_and_new_zones(history: History) -> None:
    alice, bob = history.alice, history.bob
    carol = UserFactory.create(username="carol")  # never refreshed, nothing stale
    rollups_mark(user_id=bob.pk, since=FIRST, until=FIRST)
    alice.time_zone = "Asia/Tokyo"
    alice.save(update_fields=["time_zone"])
    versions = dict(RollupState.objects.values_list("user_id", "version"))
    assert rollups_refresh_stale() == 2
    after = dict(RollupState.objects.values_list("user_id", "version"))
    assert after == {alice.pk: versions[alice.pk] + 1, bob.pk: versions[bob.pk] + 1}
    assert carol.pk not in after
    assert rollups_refresh_stale() == 0
    assert rollups_refresh(carol.pk) is True  # its first refresh builds (nothing) in its zone
    assert rollups_refresh(carol.pk) is False
    check(alice, history.rng, periods=4)


@pytest.mark.parametrize("plays_in_month", [30, 3000])
def test_refreshing_one_dirty_month_takes_a_bounded_number_of_queries(
    plays_in_month: int, django_assert_max_num_queries: Any
) -> None:
    rng = random.Random(plays_in_month)
    user = UserFactory.create(time_zone="Europe/Berlin")
    tracks = catalog_make(rng, tracks=30).tracks
    month = datetime(2023, 3, 1, tzinfo=UTC)
    plays, ended = [], month
    for i in range(plays_in_month):
        # Sittings of 50 plays: few sessions, however many plays.
        ended += (3 * 3_600_000 if i % 50 == 0 else 200_000) * MS
        plays.append(play_make(rng, user, tracks[i % 30], ended=ended, ms=180_000))
    plays += [play_make(rng, user, tracks[0], ended=month + timedelta(days=d)) for d in (-40, 45)]
    plays_store(plays)
    rollups_refresh(user.pk)
    middle = month + timedelta(days=14)
    rollups_mark(user_id=user.pk, since=middle, until=middle)
    with django_assert_max_num_queries(30):
        assert rollups_refresh(user.pk) is True
    check_rollups(user, heard(user))
