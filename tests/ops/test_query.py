"""Query parameters (issue 19, point 2): every one goes through a form declared with
`@query_form`, bad values answer 400 or a corrected page and never 500, and no view reads
`request.GET` by hand."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.periods import PRESETS
from dashboard.stats.rollups import KINDS
from dashboard.views import SECTIONS
from ops.query import MAX_PAGE, QueryDateTime, QueryPage, QueryText
from scrobbler.models import User
from tests.factories import PlayFactory, TrackFactory
from tests.playback.test_browse import in_library
from tests.test_url_access import Fixture, Route, concrete, routes
from tests.test_url_access import fx as fx  # the seeded victim's objects, for path parameters

ROOT = Path(__file__).resolve().parents[2]
# The rooms whose views must read their query strings through ops.query. The simulator is a
# program of its own (it may import nothing from Encore) whose parameters copy Spotify's, answered
# with Spotify's JSON errors; the admin is Django's.
ROOMS = ("config", "accounts", "dashboard", "imports", "playback", "scrobbler", "ops")
SKIPPED_NAMESPACES = ("admin", "spotify_sim")
IMPOSSIBLE = (
    "2024-02-30T10:00:00",  # February 30
    "2024-13-01T10:00:00",  # month 13
    "2024-01-01T25:00:00",  # hour 25
    "2024-01-01T10:00:00+99:00",  # offset +99:00
)


# --- the fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "page"),
    [
        ("", 1), ("x", 1), ("0", 1), ("-3", 1), ("1.5", 1), ("٣", 1), ("7", 7), (" 7 ", 7),
        ("99999999999999999999", MAX_PAGE), (str(MAX_PAGE + 1), MAX_PAGE),
    ],
)  # fmt: skip
def test_a_page_number_is_corrected_not_refused(raw: str, page: int) -> None:
    assert QueryPage().clean(raw) == page


def test_text_loses_control_characters_and_is_cut() -> None:
    assert QueryText(max_length=5).clean(" a\x00b\x1fc\x7fdefgh ") == "abcde"


@pytest.mark.parametrize("raw", IMPOSSIBLE)
def test_an_impossible_datetime_is_refused(raw: str) -> None:
    with pytest.raises(Exception, match="like 2024-01-31"):
        QueryDateTime().clean(raw)


def test_a_datetime_as_the_pages_write_it_is_read() -> None:
    when = datetime(2024, 2, 29, 10, 0, 0, 123456, tzinfo=UTC)
    assert QueryDateTime().clean(when.isoformat()) == when
    assert QueryDateTime().clean("") is None


# --- the examples -----------------------------------------------------------------


@pytest.fixture
def client(alice: User) -> Client:
    signed_in = Client()
    signed_in.force_login(alice)
    return signed_in


@pytest.mark.django_db
@pytest.mark.parametrize("before", IMPOSSIBLE)
def test_recent_plays_before_an_impossible_datetime_is_400(client: Client, before: str) -> None:
    response = client.get("/recent/", {"before": before})
    assert response.status_code == 400
    assert b"before" in response.content


@pytest.mark.django_db
def test_recent_plays_follow_their_own_older_link(client: Client, alice: User) -> None:
    for _ in range(51):
        PlayFactory.create(user=alice)
    first = client.get("/recent/")
    link = re.search(rb'href="\?before=([^"]+)"', first.content)
    assert link is not None
    older = client.get("/recent/?before=" + link[1].decode())
    assert older.status_code == 200
    assert older.context["plays"]


@pytest.mark.django_db
def test_a_huge_top_page_is_the_last_possible_page_not_an_overflow(
    client: Client, alice: User
) -> None:
    PlayFactory.create(user=alice)
    response = client.get("/top/tracks/", {"page": "99999999999999999999"})
    assert response.status_code == 200
    assert response.context["top"].page == MAX_PAGE


@pytest.mark.django_db
def test_a_nul_in_the_library_search_is_dropped(client: Client) -> None:
    """PostgreSQL refuses NUL in text ("A string literal cannot contain NUL"): run on it too."""
    in_library(TrackFactory.create(name="Nightswimming"))
    response = client.get("/library/tracks/", {"q": "Night\x00swim"})
    assert response.status_code == 200
    assert response.context["query"] == "Nightswim"
    assert [row.track.name for row in response.context["rows"]] == ["Nightswimming"]


# --- no way around the parser ---------------------------------------------------------------


def test_no_view_reads_the_query_string_by_hand() -> None:
    """Views declare `@query_form` and read `query_of(request)`; only ops.query reads GET (and
    no template reads `request.GET` past the form either)."""
    reading = re.compile(r"\.GET\b|QUERY_STRING|query_params")
    sources = [path for room in ROOMS for path in sorted((ROOT / room).rglob("*.py"))]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in [*sources, *sorted((ROOT / "templates").rglob("*.html"))]
        if path != ROOT / "ops" / "query.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if reading.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == [], "read these through a form declared with @query_form:\n" + "\n".join(found)


def declared() -> list[Route]:
    return [
        route
        for route in routes()
        if not route.namespace.startswith(SKIPPED_NAMESPACES)
        and getattr(route.pattern.callback, "query_form", None) is not None
    ]


def test_the_pages_that_take_parameters_declare_them() -> None:
    keys = {route.key for route in declared()}
    expected = {"home", "recent", "top", "library-tracks", "spotify-callback", "signup"}
    assert expected <= keys, expected - keys


# --- anything but a 500 -------------------------------------------------------------------

NASTY = st.sampled_from(
    [
        "", " ", "0", "-1", "1.5", "1e309", "NaN", "99999999999999999999", str(2**63), "-" + str(2**63),
        *IMPOSSIBLE, "2024-02-29T10:00:00", "0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59+23:59",
        "2024-01-31", "0001-01-01", "9999-12-31", "1969-12-31", "10000-01-01",
        "custom", "all", "today", "1970", "2999", "9999",
        "\x00", "a\x00b", "\x1b[31m", "%", "%00", "💿", "\u202e", "x" * 5000,
    ]
)  # fmt: skip
EDGE_DAYS = ("0001-01-01", "1969-12-31", "1970-01-01", "9998-12-31", "9999-12-30", "9999-12-31")
VALUES = st.one_of(
    NASTY,
    st.text(max_size=40),
    st.integers().map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)


# Values that reach deeper for some fields: a custom range needs `range=custom` and two dates.
DAYS = st.one_of(st.sampled_from(EDGE_DAYS), st.dates().map(lambda d: d.isoformat()))
FIELD_VALUES = {
    "range": st.sampled_from([*PRESETS, "custom", "1970", "2999"]),
    "from": DAYS,
    "to": DAYS,
}
# Path parameters whose every value is a different page, with those values.
PATH_CHOICES = {"dashboard-section": ("name", sorted(SECTIONS)), "top": ("kind", sorted(KINDS))}


def _custom(start: date, days: int) -> dict[str, str]:
    end = start + timedelta(days=days) if days < (date.max - start).days else date.max
    return {"range": "custom", "from": start.isoformat(), "to": end.isoformat()}


# A custom range as the control sends it: a start and an end after it, any span.
CUSTOM = st.builds(
    _custom,
    st.one_of(st.sampled_from([date.fromisoformat(day) for day in EDGE_DAYS]), st.dates()),
    st.one_of(st.integers(0, 3), st.integers(0, 40_000)),
)


def query_strategy(route: Route) -> st.SearchStrategy[dict[str, str]]:
    fields = route.pattern.callback.query_form.base_fields  # type: ignore[attr-defined]
    anything = st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(FIELD_VALUES[name], VALUES) if name in FIELD_VALUES else VALUES
            for name in fields
        },
    )
    if "range" not in fields:
        return anything
    return st.one_of(anything, st.tuples(anything, CUSTOM).map(lambda d: {**d[0], **d[1]}))


def path_strategy(fx: Fixture, route: Route) -> st.SearchStrategy[str]:
    if route.key in PATH_CHOICES:
        name, choices = PATH_CHOICES[route.key]
        return st.sampled_from([reverse(route.key, kwargs={name: value}) for value in choices])
    return st.just(concrete(fx, route))


ROUTES = declared()


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[route.key for route in ROUTES])
def test_random_query_values_never_answer_500(fx: Fixture, route: Route) -> None:
    """Random values at every declared parameter, anonymous and as the signed-in owner of the
    objects the path names (with plays, a track, an import): any answer but a 500."""
    paths = path_strategy(fx, route)
    assert resolve(concrete(fx, route)).func is route.pattern.callback
    owner = Client(raise_request_exception=False)
    owner.force_login(fx.victim)
    PlayFactory.create(user=fx.victim, track=TrackFactory.create())
    clients = {"anonymous": Client(raise_request_exception=False), "owner": owner}

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(path=paths, query=query_strategy(route), who=st.sampled_from(sorted(clients)))
    def check(path: str, query: dict[str, str], who: str) -> None:
        response = clients[who].get(path, query)
        assert response.status_code < 500, (who, path, query)

    check()
