"""The dashboard in a real browser: sign in, switch ranges and themes, and check the numbers every
page shows against the plays themselves, counted here in plain Python in the user's time zone (not
through dashboard.stats), so the browser independently confirms the rollups. Every page visited is
saved as a full-page screenshot under test-artifacts/dashboard/."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from scrobbler.localtime import day_start
from scrobbler.models import Album, Artist, Play, Track, TrackArtist, User
from scrobbler.rollups import rollups_mark, rollups_refresh
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS, screenshot
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ZONE = ZoneInfo("Europe/Berlin")
SESSION_GAP = dt.timedelta(minutes=20)
TOP_PER_PAGE = 50
# Names only Bob's listening holds: no page Alice sees may ever show them.
BOB_ONLY = ("Nocturne for Bob 1", "Nocturne for Bob 2", "Band of Bob", "Album of Bob")
# Every on-load section has answered and been swapped in, and no request is still out.
SETTLED = """() => !document.querySelector('.loading, [aria-busy="true"], .htmx-request')"""
# The text colour of each chart label, and the background it is drawn on (the nearest ancestor
# that paints one).
CHART_TEXT_COLOURS = """() => [...document.querySelectorAll('.chart svg text')].map((text) => {
  let el = text, bg = 'rgba(0, 0, 0, 0)';
  while (el) {
    const colour = getComputedStyle(el).backgroundColor;
    if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') { bg = colour; break; }
    el = el.parentElement;
  }
  return [getComputedStyle(text).fill, bg];
})"""

Plays = list[Play]
EntityKeys = Callable[[Play], Iterable[tuple[int, str]]]


# --- The listening, seeded and counted ---------------------------------------------------------


def user(username: str, **fields: Any) -> User:
    """A user whose password hash the real server (default hashers) can check."""
    return User.objects.create(
        username=username, password=make_password(PASSWORD, hasher="pbkdf2_sha256"), **fields
    )


def track(number: int, name: str, album: Album, artists: list[Artist]) -> Track:
    made = Track.objects.create(uri=f"spotify:track:t{number}", name=name, album=album)
    for position, artist in enumerate(artists):
        TrackArtist.objects.create(track=made, artist=artist, position=position)
    return made


def local_today() -> dt.date:
    return timezone.now().astimezone(ZONE).date()


def listens_write(owner: User, listens: list[tuple[Track, dt.datetime, int]]) -> None:
    """Write listens as an import does: plays, then the span they touch marked and refreshed."""
    Play.objects.bulk_create(
        Play(
            user=owner,
            track=heard,
            started_at=ended - dt.timedelta(milliseconds=ms),
            ended_at=ended,
            ms_played=ms,
            source=Play.Source.IMPORT,
            counted=ms >= 30_000,
            skipped=ms < 120_000,
        )
        for heard, ended, ms in listens
    )
    ends = [ended for _, ended, _ in listens]
    rollups_mark(user_id=owner.pk, since=min(ends), until=max(ends))
    rollups_refresh(owner.pk)


def seed(custom: tuple[dt.date, dt.date]) -> User:
    """Alice (Berlin, sharing her stats) with ~560 listens of 60 tracks over two years ending
    now, some skipped, some too short to count, a few just inside and outside the custom range's
    local days and a year ago today; Bob (New York, not sharing) with listens of his own tracks
    and of Alice's, which her pages must neither show nor count."""
    alice = user("alice", time_zone="Europe/Berlin", share_stats=True)
    bob = user("bob", time_zone="America/New_York")
    artists = [
        Artist.objects.create(uri=f"spotify:artist:a{i}", name=f"Artist {letter}")
        for i, letter in enumerate("ABCDEFGH")
    ]
    albums = []
    for i in range(6):
        album = Album.objects.create(uri=f"spotify:album:b{i}", name=f"Album {i + 1}")
        album.artists.set([artists[i]])
        albums.append(album)
    tracks = [
        track(
            i,
            f"Song {i + 1:02d}",
            albums[i % 6],
            [artists[i % 6]] + ([artists[6 + i % 2]] if i % 7 == 0 else []),
        )
        for i in range(60)
    ]
    rng = random.Random(2024)
    now = timezone.now().replace(microsecond=0)
    weights = [1 / (i + 1) ** 0.8 for i in range(len(tracks))]
    used: set[dt.datetime] = set()

    def length() -> int:
        kind = rng.random()
        if kind < 0.7:
            return rng.randint(150_000, 240_000)  # heard through
        if kind < 0.9:
            return rng.randint(30_000, 119_999)  # counted, but skipped
        return rng.randint(2_000, 29_999)  # too short to count

    listens: list[tuple[Track, dt.datetime, int]] = []

    def add(heard: Track, ended: dt.datetime, ms: int) -> None:
        if ended not in used and ended <= now:
            used.add(ended)
            listens.append((heard, ended, ms))

    while len(listens) < 540:
        ended = now - dt.timedelta(seconds=rng.randint(60, 730 * 86_400))
        add(rng.choices(tracks, weights)[0], ended, length())
    for k in range(1, 7):  # today
        add(tracks[k], now - dt.timedelta(minutes=7 * k), 200_000)
    # Five minutes either side of the custom range's local midnights: in UTC, the first day's
    # 00:05 is still the day before.
    start, end = custom
    for edge, inside in (
        (day_start(start, ZONE), 1),
        (day_start(end + dt.timedelta(days=1), ZONE), -1),
    ):
        add(tracks[-1], edge + dt.timedelta(minutes=5) * inside, 200_000)
        add(tracks[-2], edge - dt.timedelta(minutes=5) * inside, 200_000)
    today = local_today()
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today - dt.timedelta(days=365)
    noon = dt.datetime.combine(year_ago, dt.time(12), tzinfo=ZONE)
    for k in range(3):
        add(tracks[4], noon + dt.timedelta(minutes=5 * k), 200_000)
    listens_write(alice, listens)

    secret = Artist.objects.create(uri="spotify:artist:bob", name="Band of Bob")
    secret_album = Album.objects.create(uri="spotify:album:bob", name="Album of Bob")
    secrets = [
        track(100 + i, f"Nocturne for Bob {i + 1}", secret_album, [secret]) for i in range(2)
    ]
    theirs: dict[dt.datetime, tuple[Track, dt.datetime, int]] = {}
    while len(theirs) < 120:
        ended = now - dt.timedelta(seconds=rng.randint(60, 730 * 86_400))
        theirs[ended] = (rng.choice([*secrets, *tracks[:5]]), ended, 200_000)
    theirs[now] = (secrets[0], now, 200_000)  # today too
    listens_write(bob, list(theirs.values()))
    return alice


def local_day(play: Play) -> dt.date:
    return play.ended_at.astimezone(ZONE).date()


def within(plays: Plays, start: dt.date, end: dt.date) -> Plays:
    return [p for p in plays if start <= local_day(p) <= end]


def n_plays(n: int) -> str:
    """A count of plays as pages write it: "1 play", "1,234 plays"."""
    return f"{n:,} play" if n == 1 else f"{n:,} plays"


def totals(plays: Plays) -> dict[str, str]:
    counted = [p for p in plays if p.counted]
    skips = sum(p.skipped for p in plays)
    return {
        "plays": f"{len(counted):,}",
        "listens": f"{len(plays):,}",
        "skip-rate": f"{skips / len(plays) * 100:.1f}%" if plays else "—",
        "distinct-tracks": f"{len({p.track_id for p in counted}):,}",
        "distinct-artists": f"{len({a.pk for p in counted for a in p.track.artists.all()}):,}",
        "distinct-albums": f"{len({p.track.album_id for p in counted}):,}",
    }


def of_tracks(play: Play) -> Iterable[tuple[int, str]]:
    return [(play.track_id, play.track.name)]


def of_artists(play: Play) -> Iterable[tuple[int, str]]:
    return [(a.pk, a.name) for a in play.track.artists.all()]


def of_albums(play: Play) -> Iterable[tuple[int, str]]:
    album = play.track.album
    return [(album.pk, album.name)] if album else []


KEYS: dict[str, EntityKeys] = {"tracks": of_tracks, "artists": of_artists, "albums": of_albums}


def ranking(plays: Plays, keys: EntityKeys, *, order: str = "plays") -> list[tuple[int, str, int]]:
    """(rank, name, plays) of everything with a counted play, in the top table's order: most
    plays (or time) first, ties by listening time (or plays); rank shared by equal plays."""
    counts: Counter[int] = Counter()
    ms: Counter[int] = Counter()
    names: dict[int, str] = {}
    for play in plays:
        for entity_id, name in keys(play):
            counts[entity_id] += play.counted
            ms[entity_id] += play.ms_played
            names[entity_id] = name
    played = [e for e in names if counts[e]]
    if order == "time":
        played.sort(key=lambda e: (-ms[e], -counts[e], e))
    else:
        played.sort(key=lambda e: (-counts[e], -ms[e], e))
    return [(1 + sum(counts[o] > counts[e] for o in played), names[e], counts[e]) for e in played]


def day_text(day: dt.date, *, weekday: bool = False) -> str:
    """A date as the templates write "j M Y" (or "l j M Y")."""
    text = f"{day.day} {day:%b} {day.year}"
    return f"{day:%A} {text}" if weekday else text


def played_days(plays: Plays) -> Counter[dt.date]:
    return Counter(local_day(p) for p in plays if p.counted)


def longest_run(days: Iterable[dt.date]) -> int:
    best = run = 0
    previous = None
    for day in sorted(days):
        run = run + 1 if previous and day - previous == dt.timedelta(days=1) else 1
        best, previous = max(best, run), day
    return best


def session_starts(plays: Plays) -> list[dt.datetime]:
    """When each listening session began: listens with breaks of at most 20 minutes."""
    starts, last_end = [], None
    for play in sorted(plays, key=lambda p: p.started_at):
        if last_end is None or play.started_at - last_end > SESSION_GAP:
            starts.append(play.started_at)
            last_end = play.ended_at
        last_end = max(last_end, play.ended_at)
    return starts


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two computed CSS colours ("rgb(r, g, b)")."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# --- The browser ---------------------------------------------------------------------------------


class Tour:
    """Alice's browser: waits for pages to settle, checks what every page must hold, screenshots."""

    def __init__(self, page: Any, base: str, plays: Plays) -> None:
        self.page, self.base, self.plays = page, base, plays
        self.theme = "auto"
        self.shots: list[Path] = []

    def settle(self) -> None:
        self.page.wait_for_function(SETTLED)

    def look(self, name: str, range_key: str) -> None:
        """Once the page has settled: the theme is the chosen one, chart text is readable on
        its background, nothing of Bob's is there; then a full-page screenshot."""
        page = self.page
        self.settle()
        assert page.get_attribute("html", "data-theme") == self.theme
        for fill, background in {tuple(c) for c in page.evaluate(CHART_TEXT_COLOURS)}:
            assert contrast(fill, background) >= 3, (name, self.theme, fill, background)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), name
        html = page.content()
        for secret in BOB_ONLY:
            assert secret not in html, (name, secret)
        self.shots.append(screenshot(page, f"dashboard/{name}-{range_key}-{self.theme}"))

    def theme_pick(self, theme: str) -> None:
        self.page.click(f".theme-picker button[value={theme}]")
        self.theme = theme
        assert self.page.get_attribute("html", "data-theme") == theme

    def nav(self, label: str, url: str) -> None:
        self.page.locator("nav[aria-label=Main]").get_by_role(
            "link", name=label, exact=True
        ).click()
        self.page.wait_for_url(f"{self.base}{url}")

    def range_shown(self, label: str, start: dt.date, end: dt.date) -> None:
        """Wait for the range control's period to be this one, its sections loaded."""
        expected = (
            f"{label}: " if label else ""
        ) + f"{day_text(start)} to {day_text(end)} (Europe/Berlin time)"
        self.page.locator(".period-label", has_text=expected).wait_for()
        self.settle()
        assert self.page.locator(".period-label").inner_text() == expected

    def preset(self, label: str) -> None:
        self.page.locator(".range-control").get_by_role("link", name=label, exact=True).click()

    def stats(self, *names: str) -> dict[str, str]:
        return {n: self.page.locator(f'[data-stat="{n}"]').first.inner_text() for n in names}

    def top_rows(self, table: str) -> list[tuple[int, str, int]]:
        rows = self.page.locator(f"{table} tbody tr:has([data-plays])")
        return [
            (
                int(row.locator("td").nth(0).inner_text()),
                row.locator("td").nth(1).locator("a").first.inner_text(),  # not its album
                int(row.locator("[data-plays]").get_attribute("data-plays")),
            )
            for row in rows.all()
        ]

    def chart_values(self, chart_id: str) -> list[int]:
        cells = self.page.locator(f"#{chart_id} .chart-table tbody td")
        return [int(text.replace(",", "")) for text in cells.all_text_contents()]


def check_overview(tour: Tour, start: dt.date, end: dt.date) -> None:
    """The overview's numbers and top fives are the plays of these local days."""
    plays = within(tour.plays, start, end)
    expected = totals(plays)
    assert tour.stats(*expected) == expected, (start, end)
    assert sum(tour.chart_values("activity")) == int(expected["plays"].replace(",", ""))
    for kind, keys in KEYS.items():
        assert tour.top_rows(f"#section-top-{kind}") == ranking(plays, keys)[:5], (kind, start)


# --- The test ------------------------------------------------------------------------------------


def test_the_dashboard_shows_the_users_own_plays_in_every_range_and_theme(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    today = local_today()
    custom = (today - dt.timedelta(days=100), today - dt.timedelta(days=40))
    alice = seed(custom)
    plays = list(
        Play.objects.filter(user=alice).select_related("track__album").prefetch_related("track__artists")
    )  # fmt: skip
    assert 550 < len(plays) < 570
    assert any(not p.counted for p in plays)
    assert any(p.skipped and p.counted for p in plays)
    first = min(local_day(p) for p in plays)
    last_year = today.year - 1
    (ARTIFACTS / "dashboard").mkdir(parents=True, exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})

    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        tour = Tour(page, base, plays)
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{base}/")

        # The overview through every kind of range, in the light theme.
        tour.theme_pick("light")
        tour.range_shown("30 days", today - dt.timedelta(days=29), today)
        check_overview(tour, today - dt.timedelta(days=29), today)
        tour.look("overview", "30d")
        presets = [
            ("Today", "today", today),
            ("7 days", "7d", today - dt.timedelta(days=6)),
            ("This year", "year", dt.date(today.year, 1, 1)),
            ("All time", "all", first),
            ("30 days", "30d", today - dt.timedelta(days=29)),
        ]
        for label, key, start in presets:
            tour.preset(label)
            tour.range_shown(label, start, today)
            page.wait_for_url(f"{base}/?range={key}")
            check_overview(tour, start, today)
            tour.look("overview", key)

        page.select_option("#range-year", str(last_year))
        page.click(".range-year button[type=submit]")
        year_days = (dt.date(last_year, 1, 1), dt.date(last_year, 12, 31))
        tour.range_shown(str(last_year), *year_days)
        check_overview(tour, *year_days)
        tour.look("overview", str(last_year))

        page.fill("#range-from", custom[0].isoformat())
        page.fill("#range-to", custom[1].isoformat())
        page.click(".range-custom button[type=submit]")
        tour.range_shown("", *custom)
        check_overview(tour, *custom)
        tour.look("overview", "custom")

        tour.theme_pick("dark")
        tour.look("overview", "custom")
        assert page.locator(".chart svg text").count() > 20  # their colours were checked
        # The range chosen is remembered by the other pages, until another is chosen.
        tour.nav("Habits", "/habits/")
        tour.range_shown("", *custom)
        tour.preset("30 days")
        tour.range_shown("30 days", today - dt.timedelta(days=29), today)
        # Every page, in the dark theme and then in the light one.
        visit_every_page(tour, today, first)
        tour.theme_pick("light")
        visit_every_page(tour, today, first)
    assert len(tour.shots) > 40


def visit_every_page(tour: Tour, today: dt.date, first: dt.date) -> None:
    page, plays = tour.page, tour.plays
    month = (today - dt.timedelta(days=29), today)

    tour.nav("Overview", "/")
    tour.range_shown("30 days", *month)
    check_overview(tour, *month)
    tour.look("overview", "30d")

    # Top lists: all time, sorted by time, the second page, then artists and albums.
    tour.nav("Top", "/top/tracks/")
    tour.range_shown("30 days", *month)
    assert tour.top_rows("#top-table") == ranking(within(plays, *month), of_tracks)
    tour.look("top-tracks", "30d")
    tour.preset("All time")
    tour.range_shown("All time", first, today)
    everything = ranking(plays, of_tracks)
    assert len(everything) > TOP_PER_PAGE
    assert tour.top_rows("#top-table") == everything[:TOP_PER_PAGE]
    tour.look("top-tracks", "all")
    page.locator("#top-table .sort").get_by_role("link", name="time", exact=True).click()
    page.locator("#top-table .sort a[aria-current]", has_text="time").wait_for()
    tour.settle()
    by_time = ranking(plays, of_tracks, order="time")
    assert [r[1] for r in tour.top_rows("#top-table")] == [r[1] for r in by_time[:TOP_PER_PAGE]]
    assert page.url.endswith("?range=all&order=time")
    tour.look("top-tracks-by-time", "all")
    page.locator("#top-table .sort").get_by_role("link", name="plays", exact=True).click()
    page.locator("#top-table .sort a[aria-current]", has_text="plays").wait_for()
    page.locator("#top-table .pager").get_by_role("link", name="Next").click()
    page.locator("#top-table .pager span", has_text="Page 2 of 2").wait_for()
    tour.settle()
    assert tour.top_rows("#top-table") == everything[TOP_PER_PAGE:]
    assert page.url.endswith("?range=all&order=plays&page=2")
    tour.look("top-tracks-page-2", "all")
    for kind in ("artists", "albums"):
        page.locator("nav.tabs").get_by_role("link", name=kind.capitalize()).click()
        page.wait_for_url(f"{tour.base}/top/{kind}/?range=all&order=plays")
        tour.settle()
        assert tour.top_rows("#top-table") == ranking(plays, KEYS[kind])
        tour.look(f"top-{kind}", "all")

    # An album, an artist and a track, reached through the tables: all time, as the tops were.
    top_album = ranking(plays, of_albums)[0]
    page.locator("#top-table tbody tr").first.locator("a").first.click()
    page.wait_for_url(re.compile(r"/albums/\d+/$"))
    tour.settle()
    album_plays = [p for p in plays if p.track.album and p.track.album.name == top_album[1]]
    assert page.inner_text("h1") == top_album[1]
    assert tour.stats("plays") == {"plays": f"{top_album[2]:,}"}
    shown = page.locator("main ol li").all_inner_texts()
    assert shown == [f"{name}: {n_plays(n)}" for _, name, n in ranking(album_plays, of_tracks)[:20]]
    tour.look("album", "all")
    page.go_back()
    page.locator("nav.tabs").get_by_role("link", name="Artists").click()
    page.wait_for_url(f"{tour.base}/top/artists/?range=all&order=plays")
    top_artist = ranking(plays, of_artists)[0]
    page.locator("#top-table tbody tr").first.locator("a").first.click()
    page.wait_for_url(re.compile(r"/artists/\d+/$"))
    tour.settle()
    assert page.inner_text("h1") == top_artist[1]
    assert tour.stats("plays") == {"plays": f"{top_artist[2]:,}"}
    tour.look("artist", "all")
    page.locator("main ol li a").first.click()
    page.wait_for_url(re.compile(r"/tracks/\d+/$"))
    tour.settle()
    name = page.inner_text("h1")
    track_plays = [p for p in plays if p.track.name == name]
    assert tour.stats("plays") == {"plays": f"{sum(p.counted for p in track_plays):,}"}
    latest = sorted(track_plays, key=lambda p: p.ended_at, reverse=True)[:20]
    shown_times = page.locator("table.plays tbody time").all_inner_texts()
    assert shown_times == [f"{p.ended_at.astimezone(ZONE):%Y-%m-%d %H:%M}" for p in latest]
    tour.look("track", "all")

    # When (all time, still remembered from the tops) and habits (the last 30 days, chosen here).
    tour.nav("When", "/when/")
    tour.range_shown("All time", first, today)
    days = played_days(plays)
    busiest = min(days, key=lambda d: (-days[d], d))
    assert tour.stats("days-played", "busiest-day") == {
        "days-played": f"{len(days):,}",
        "busiest-day": f"{day_text(busiest, weekday=True)}: {n_plays(days[busiest])}",
    }
    assert tour.stats("longest-streak")["longest-streak"].split()[0] == str(longest_run(days))
    tour.look("when", "all")
    tour.preset("30 days")
    tour.range_shown("30 days", *month)
    tour.look("when", "30d")

    tour.nav("Habits", "/habits/")
    tour.range_shown("30 days", *month)
    since, until = day_start(month[0], ZONE), day_start(month[1] + dt.timedelta(days=1), ZONE)
    sessions = [s for s in session_starts(plays) if since <= s < until]
    month_plays = within(plays, *month)
    assert tour.stats("sessions", "artists") == {
        "sessions": f"{len(sessions):,}",
        "artists": totals(month_plays)["distinct-artists"],
    }
    assert sum(tour.chart_values("plays-per-track")) == int(
        totals(month_plays)["distinct-tracks"].replace(",", "")
    )
    for line in page.locator("#section-sessions ol.longest li").all_inner_texts():
        listens = re.search(r", (\d+) listens?$", line)
        assert listens, line
        assert listens[0].endswith("listen" if listens[1] == "1" else "listens"), line
    tour.look("habits", "30d")

    # Recent plays: the latest fifty listens, skips marked, times in Berlin.
    tour.nav("Recent", "/recent/")
    latest = sorted(plays, key=lambda p: p.ended_at, reverse=True)[:50]
    rows = page.locator("table.plays tbody tr")
    assert rows.locator("td:first-child a").all_inner_texts() == [p.track.name for p in latest]
    assert rows.locator("time").all_inner_texts() == [
        f"{p.ended_at.astimezone(ZONE):%Y-%m-%d %H:%M}" for p in latest
    ]
    assert rows.locator(".tag", has_text="skipped").count() == sum(p.skipped for p in latest)
    assert rows.locator(".tag", has_text="not counted").count() == sum(
        not p.counted for p in latest
    )
    tour.look("recent", "latest")

    # On this day: each earlier year's same day with plays, newest first.
    tour.nav("On this day", "/on-this-day/")
    earlier = []
    for back in range(1, 31):
        try:
            earlier.append(today.replace(year=today.year - back))
        except ValueError:  # 29 February
            continue
    expected = [(d, days[d]) for d in earlier if days[d]]
    assert expected
    headings = page.locator("section.past-day h2").all_inner_texts()
    assert [h.split(" (")[0] for h in headings] == [f"{d.day} {d:%B %Y}" for d, _ in expected]
    assert [h.split(" (")[1].split(", ")[0] for h in headings] == [n_plays(n) for _, n in expected]
    tour.look("on-this-day", "earlier-years")

    # The year in review: this year, then the last.
    tour.nav("Year", f"/year/{today.year}/")
    for year in (today.year, today.year - 1):
        if year != today.year:
            page.locator("nav[aria-label=Year]").get_by_role("link", name=str(year)).click()
            page.wait_for_url(f"{tour.base}/year/{year}/")
        tour.settle()
        year_plays = within(plays, dt.date(year, 1, 1), dt.date(year, 12, 31))
        expected_totals = totals(year_plays)
        assert tour.stats(*expected_totals) == expected_totals, year
        assert tour.top_rows("#section-top-tracks") == ranking(year_plays, of_tracks)[:5]
        tour.look("year-review", str(year))

    # Favourites: tracks played often enough, most played first.
    tour.nav("Favourites", "/favourites/")
    often = [(n, name) for _, name, n in ranking(plays, of_tracks) if n >= settings.FAVORITE_THRESHOLD]  # fmt: skip
    rows = page.locator("table.plays tbody tr")
    shown_favourites = [
        (int(row.locator("td").nth(2).inner_text()), row.locator("td a").first.inner_text())
        for row in rows.all()
    ]
    assert shown_favourites == sorted(often, key=lambda f: (-f[0], f[1]))
    assert shown_favourites
    tour.look("favourites", "all")

    tour.nav("Settings", "/settings/")
    assert page.input_value("#id_time_zone") == "Europe/Berlin"
    tour.look("settings", "none")

    # Global stats: Alice shares hers, Bob does not.
    tour.nav("Global", "/global/")
    facts = dict(
        zip(
            page.locator("dl.facts dt").all_inner_texts(),
            page.locator("dl.facts dd").all_inner_texts(),
            strict=True,
        )
    )
    assert facts["Listeners"] == "1"
    assert facts["Plays"].replace(",", "") == str(sum(p.counted for p in plays))
    tour.look("global", "all")
