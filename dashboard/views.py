"""The listening dashboard: thin views over the selectors in dashboard.stats, every one for the
signed-in user's own plays only. Pages are skeletons whose sections load as HTMX partials (each
one request, each quick; SECTIONS builds them); the tops page and entity pages render whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dashboard import charts
from dashboard import favourites as favourites_service
from dashboard.calendar_chart import calendar, calendar_span
from dashboard.periods import DEFAULT_RANGE, PRESETS, Period, PeriodError, period_parse
from dashboard.queries import PeriodQuery, RecentQuery, SectionQuery, TopQuery
from dashboard.stats import history, tops  # whole: views here are named top and on_this_day
from dashboard.stats.activity import (
    STEPS,
    WEEKDAYS,
    activity,
    busiest_day,
    daily,
    heatmap,
    streaks,
)
from dashboard.stats.entities import (
    entities_visible_to,
    entity_plays_query,
    entity_tops,
    entity_total,
    rank_history,
)
from dashboard.stats.habits import distribution, sessions
from dashboard.stats.overview import first_day, totals, variety
from dashboard.stats.rollups import KINDS
from ops.http import HtmxHttpRequest
from ops.query import PageQuery, query_form, query_of
from scrobbler.demo import demo_sign_in
from scrobbler.http import signed_in_user
from scrobbler.models import Album, Artist, EntityKind, SpotifyAccount, Track, User
from scrobbler.rollups import rollups_stale
from scrobbler.spotify.accounts import refresh_token_expires_at, refresh_token_expires_soon

TOP_SHOWN_IN_SECTIONS = 5
RECENT_PER_PAGE = 50


@dataclass(frozen=True)
class RangeControl:
    period: Period
    years: list[int]
    presets: dict[str, str]
    error: str = ""
    first_day: date | None = None  # the first day with a play; None: no plays at all yet


def _user_zone(user: User) -> ZoneInfo:
    return ZoneInfo(user.time_zone)


def _today(user: User) -> date:
    return timezone.now().astimezone(_user_zone(user)).date()


# The session key of the range last chosen (its query parameters, so "7d" stays the last seven
# days): a page opened without a range shows it. The session is the user's own.
REMEMBERED_RANGE = "dashboard_range"


def _period(
    request: HttpRequest, user: User, *, default: str = DEFAULT_RANGE, remember: bool = True
) -> RangeControl:
    """The period the range control asks for, else the one last chosen, else `default`; a bad
    one falls back to the default, saying why. A good one asked for is remembered, unless not to
    `remember` (a section: the year in review loads its sections with its own year)."""
    tz, today = _user_zone(user), _today(user)
    # Needed whatever the range: all time starts there, and the year list goes back to it.
    first = first_day(user)
    error = ""
    asked = query_of(request)
    params = (
        {key: asked[key] for key in ("range", "from", "to") if asked.get(key)}
        if asked.get("range")
        else request.session.get(REMEMBERED_RANGE) or {"range": default}
    )
    try:
        period = period_parse(params, today=today, tz=tz, first_day=first)
    except PeriodError as exc:
        error = str(exc)
        period = period_parse({"range": default}, today=today, tz=tz, first_day=first)
    else:
        # Written only when it changes, so that going through pages costs no session writes.
        if remember and asked.get("range") and request.session.get(REMEMBERED_RANGE) != params:
            request.session[REMEMBERED_RANGE] = params
    first_year = (first or today).year
    years = list(range(today.year, first_year - 1, -1))
    return RangeControl(period, years, PRESETS, error, first_day=first)


def _context(
    request: HttpRequest, user: User, *, default: str = DEFAULT_RANGE, **extra: Any
) -> dict[str, Any]:
    control = _period(request, user, default=default)
    return {"control": control, "period": control.period, **extra}


@require_GET
@login_required
@query_form(PeriodQuery)
def overview(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    account = SpotifyAccount.objects.filter(user=user).first()
    context = _context(
        request,
        user,
        sections=(
            "totals",
            "variety",
            "activity",
            "top-tracks",
            "top-artists",
            "top-albums",
            "heatmap",
        ),
        stale=rollups_stale(user),
        spotify_account=account,
        spotify_expires_soon=account is not None and refresh_token_expires_soon(account),
        spotify_expires_at=refresh_token_expires_at(account) if account else None,
    )
    return render(request, "dashboard/overview.html", context)


@require_GET
@login_required
@query_form(SectionQuery)
def when(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    sections = ("calendar", "activity", "heatmap", "highlights")
    context = _context(request, user, sections=sections)
    context["step"] = query_of(request)["step"]
    return render(
        request,
        "dashboard/sections_page.html",
        {
            **context,
            "title": "When you listen",
            "empty_what": "When you listen (hours, weekdays, days)",
        },
    )


@require_GET
@login_required
@query_form(PeriodQuery)
def habits(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    context = _context(request, user, sections=("sessions", "distribution", "highlights"))
    return render(
        request,
        "dashboard/sections_page.html",
        {
            **context,
            "title": "Habits",
            "empty_what": "Your sessions, skips and how your plays spread",
        },
    )


@require_GET
@login_required
def year_review(request: HttpRequest, year: int) -> HttpResponse:
    user = signed_in_user(request)
    if not 1970 <= year <= _today(user).year:
        raise Http404("No such year")
    tz = _user_zone(user)
    period = period_parse({"range": str(year)}, today=_today(user), tz=tz, first_day=None)
    first = first_day(user)
    context = {
        "period": period,
        "year": year,
        "years": list(range(_today(user).year, (first or _today(user)).year - 1, -1)),
        # Before the first play there is nothing to review: say so rather than show empty sections.
        "no_plays": first is None or year < first.year,
        "first_day": first,
        "sections": ("totals", "variety", "highlights", "top-tracks", "top-artists", "top-albums", "activity", "heatmap", "sessions"),
    }  # fmt: skip
    return render(request, "dashboard/year.html", context)


# A section's builder: the context of its region (beside `period` and `section`).
SectionBuilder = Callable[[HttpRequest, User, Period], dict[str, Any]]


def _totals_section(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
    now = totals(user, period)
    previous = period.previous()
    before = totals(user, previous) if previous else None
    return {"now": now, "before": before, "previous": previous}


def _variety_section(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
    return {"variety": variety(user, period)}


def _activity_section(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
    step = query_of(request)["step"]
    if not step:
        step = "day" if period.days <= 62 else "week" if period.days <= 731 else "month"
    # Bars stay readable (and the page light): days for up to two years, weeks for ten.
    if step == "day" and period.days > 731:
        step = "week"
    if step == "week" and period.days > 3653:
        step = "month"
    points = activity(user, period, step)
    chart = charts.bar_chart(
        [(_step_label(start, step), t.plays) for start, t in points],
        axis_labels=[_step_label(start, step, short=True) for start, _ in points],
        title=f"Plays per {step}",
        value_label="plays",
        label_header=step.capitalize() + (" starting" if step == "week" else ""),
    )
    return {"step": step, "steps": STEPS, "chart": chart}


def _heatmap_section(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
    chart = charts.heatmap(
        heatmap(user, period),
        row_labels=WEEKDAYS,
        column_labels=[f"{h:02d}" for h in range(24)],
        title="Plays by weekday and hour",
        value_label="plays",
        label_header="Weekday",
        column_title=f"Hour of the day ({period.tz.key} time)",
    )
    return {"chart": chart}


def _calendar_section(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
    start, end = calendar_span(period.start, period.end)
    days = daily(user, Period("custom", start, end, period.tz))
    chart = calendar(
        {day: t.plays for day, t in days.items()}, start=start, end=end, title="Plays each day"
    )
    return {"chart": chart}


def _top_section(kind: str) -> SectionBuilder:
    def build(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
        top = tops.top(user, period, KINDS[kind], per_page=TOP_SHOWN_IN_SECTIONS)
        return {"kind": kind, "top": top}

    return build


def _highlights_section(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
    return {
        "streaks": streaks(user, period, today=_today(user)),
        "busiest": busiest_day(user, period),
    }


def _sessions_section(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
    found = sessions(user, period)
    chart = charts.bar_chart(
        found.buckets, title="Sessions by length", value_label="sessions", label_header="Length"
    )
    return {"sessions": found, "chart": chart}


def _distribution_section(request: HttpRequest, user: User, period: Period) -> dict[str, Any]:
    spread = distribution(user, period)
    chart = charts.bar_chart(
        spread.track_buckets,
        title="Tracks by number of plays",
        value_label="tracks",
        label_header="Plays of a track",
    )
    return {"distribution": spread, "chart": chart}


# Every section a page can load, by name (its URL and its partial in dashboard/sections.html):
# adding a section is adding its builder here and its partial there.
SECTIONS: dict[str, SectionBuilder] = {
    "totals": _totals_section,
    "variety": _variety_section,
    "activity": _activity_section,
    "heatmap": _heatmap_section,
    "calendar": _calendar_section,
    **{f"top-{kind}": _top_section(kind) for kind in KINDS},
    "highlights": _highlights_section,
    "sessions": _sessions_section,
    "distribution": _distribution_section,
}


@require_GET
@login_required
@query_form(SectionQuery)
def section(request: HttpRequest, name: str) -> HttpResponse:
    """One region of a dashboard page, for the period in the query string."""
    build = SECTIONS.get(name)
    if build is None:
        raise Http404("No such section")
    user = signed_in_user(request)
    period = _period(request, user, remember=False).period
    context = {"period": period, "section": name, **build(request, user, period)}
    return render(request, f"dashboard/sections.html#{name}", context)


def _step_label(start: date, step: str, *, short: bool = False) -> str:
    """A bucket's name: "Nov 2026", "Nov 11" (a week by its Monday) or with the year for the
    table and tooltips ("Nov 11, 2026", "Week of Nov 11, 2026")."""
    if step == "month":
        return charts.month_label(start)
    if short:
        return charts.day_label(start)
    day = charts.day_label(start, year=True)
    return f"Week of {day}" if step == "week" else day


@require_GET
@login_required
@query_form(TopQuery)
def top(request: HtmxHttpRequest, kind: str) -> HttpResponse:
    if kind not in KINDS:
        raise Http404("No such list")
    user = signed_in_user(request)
    context = _context(request, user)
    order, page = query_of(request)["order"], query_of(request)["page"]
    context.update(
        kind=kind,
        kinds=KINDS,
        order=order,
        orders=tops.TOP_ORDERS,
        top=tops.top(user, context["period"], KINDS[kind], order=order, page=page),
    )
    template = "dashboard/top.html"
    if request.htmx and request.htmx.target == "top-table":
        template += "#table"
    return render(request, template, context)


ENTITY_MODELS: dict[str, tuple[EntityKind, Any]] = {
    "track": (EntityKind.TRACK, Track),
    "artist": (EntityKind.ARTIST, Artist),
    "album": (EntityKind.ALBUM, Album),
}


@require_GET
@login_required
@query_form(PeriodQuery)
def entity(request: HttpRequest, kind: str, entity_id: int) -> HttpResponse:
    """A track, artist or album with the user's own history of it in one period (by default all
    time: the page is its whole story); 404 for one that only other users have (see
    entities_visible_to)."""
    entity_kind = ENTITY_MODELS[kind][0]
    user = signed_in_user(request)
    thing = get_object_or_404(entities_visible_to(user, entity_kind), pk=entity_id)
    context = _context(request, user, default="all", kind=kind, thing=thing)
    period = context["period"]
    history = rank_history(user, entity_kind, entity_id, period)
    plays = entity_plays_query(user, entity_kind, entity_id)
    # All time needs no bounds, and without them SQLite reads a track's latest plays straight
    # from the (user, track, ended_at) index (bench/dashboard.py: 49 ms, not 77, for a track).
    if period.key != "all":
        plays = plays.between(period.since, period.until)
    context.update(
        total=entity_total(user, entity_kind, entity_id, period),
        history=history,
        plays_chart=charts.bar_chart(
            [(charts.month_label(p.month), p.plays) for p in history],
            title="Plays per month",
            value_label="plays",
            label_header="Month",
        ),
        rank_chart=charts.line_chart(
            [(charts.month_label(p.month), p.rank) for p in history],
            title="Rank among your " + kind + "s, per month",
            value_label="rank",
            label_header="Month",
            invert=True,
        ),
        recent=plays.select_related("track__album")
        .prefetch_related("track__artists")
        .order_by("-ended_at")[:20],
        tracks=entity_tops(user, entity_kind, entity_id, period) if kind != "track" else None,
    )
    return render(request, "dashboard/entity.html", context)


@require_GET
@login_required
def on_this_day(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    today = _today(user)
    days = history.on_this_day(user, today=today, tz=_user_zone(user))
    return render(request, "dashboard/on_this_day.html", {"today": today, "days": days})


@require_GET
@login_required
@query_form(RecentQuery)
def recent(request: HttpRequest) -> HttpResponse:
    """Latest listens, skipped ones shown as such, paged by time (`before`)."""
    user = signed_in_user(request)
    before = query_of(request)["before"]
    if before is not None and timezone.is_naive(before):
        before = timezone.make_aware(before, timezone=_user_zone(user))
    plays = history.recent_plays(user, before=before, limit=RECENT_PER_PAGE + 1)
    more = len(plays) > RECENT_PER_PAGE
    plays = plays[:RECENT_PER_PAGE]
    liked = favourites_service.liked_track_ids(user, [p.track_id for p in plays])
    for play in plays:
        play.liked = play.track_id in liked  # type: ignore[attr-defined]
    context = {
        "plays": plays,
        "next_before": plays[-1].ended_at.isoformat() if more and plays else None,
    }
    return render(request, "dashboard/recent.html", context)


@require_GET
@query_form(PeriodQuery)
def home(request: HttpRequest) -> HttpResponse:
    """The welcome page, or for a signed-in user the dashboard's overview."""
    if not request.user.is_authenticated:
        return render(request, "dashboard/welcome.html", {"demo_sign_in": demo_sign_in()})
    return overview(request)


@require_GET
@login_required
@query_form(PageQuery)
def favourites(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    page = Paginator(favourites_service.favourite_tracks(user), 100).get_page(
        query_of(request)["page"]
    )
    page.object_list = list(page.object_list)
    tops.entities_attach(EntityKind.TRACK, page.object_list)
    liked = favourites_service.liked_track_ids(user, [row.entity_id for row in page.object_list])
    for row in page.object_list:
        row.liked = row.entity_id in liked  # type: ignore[attr-defined]
    context = {
        "page": page,
        "unplayed": favourites_service.liked_unplayed(user) if page.number == 1 else [],
        "threshold": settings.FAVORITE_THRESHOLD,
    }
    return render(request, "dashboard/favourites.html", context)


@require_POST
@login_required
def track_like(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    return _set_like(request, track_id, liked=True)


@require_POST
@login_required
def track_unlike(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    return _set_like(request, track_id, liked=False)


def _set_like(request: HtmxHttpRequest, track_id: int, *, liked: bool) -> HttpResponse:
    # Only a track the user has: a like would otherwise open any track's page.
    visible = entities_visible_to(signed_in_user(request), EntityKind.TRACK)
    track = get_object_or_404(visible, pk=track_id)
    if liked:
        favourites_service.track_like(user=signed_in_user(request), track=track)
    else:
        favourites_service.track_unlike(user=signed_in_user(request), track=track)
    if request.htmx:
        context = {"track_id": track.pk, "liked": liked}
        return render(request, "dashboard/partials/like_button.html", context)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("favourites")
    return HttpResponseRedirect(target)
