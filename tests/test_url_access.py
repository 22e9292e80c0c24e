"""Every URL pattern in the URLconf, from the attacker's side: requested (GET and POST) as an
anonymous visitor, as another user (who is not staff) with the ids of the victim's objects, and
as the victim, it refuses what it must. Intentionally public URLs are listed below with the
reason; a new URL that answers anonymous visitors without being listed fails this test, as does
a new path parameter the walker cannot fill."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from imports.models import Import
from playback import sessions
from playback.models import Device, LibraryFile
from scrobbler.models import Track, User
from tests.factories import PlayFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# Answer anyone: the decision is made here, with the reason.
PUBLIC = {
    "home": "the welcome page for visitors (each user's own dashboard once signed in)",
    "signup": "creating an account (REGISTRATION decides who may)",
    "login": "signing in",
    "logout": "signing out",
    "admin:login": "the admin's sign-in",
    "admin-login": "the admin's sign-in, rate-limited (shadows admin:login)",
    "admin:logout": "signing out of the admin",
    "healthz": "liveness probe: says nothing about anyone",
    "readyz": "readiness probe: names failing parts, no data",
    "global-stats": "tops of the listeners who opted in, anonymously",
    "theme-set": "the colour theme, in a cookie of the visitor's own",
}
# The bundled Spotify simulator (demo mode only): a stand-in for Spotify's own public services.
PUBLIC_NAMESPACES = {"spotify_sim"}
# Staff only (everything under the admin is too, except its sign-in and sign-out); /metrics also
# answers a bearer METRICS_TOKEN, and 404 to everyone else.
STAFF = {"system-status", "worker-check", "metrics"}
# The victim may get 404 from these with the values below, for a reason that is not access.
OWNER_MAY_404 = {
    "library-cover": "this test's library has no cover images",
    "picture": "this test stores no pictures",
}
MARKERS = ("victim", "Secret phone", "secret-export")


@dataclass
class Fixture:
    victim: User
    intruder: User
    track: Track
    imp: Import


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or the route text for an unnamed pattern
    namespace: str
    parts: tuple[Any, ...]  # the pattern of each level, outermost first
    pattern: URLPattern


def routes(
    resolver: URLResolver | None = None, parts: tuple[Any, ...] = (), ns: str = ""
) -> Iterator[Route]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{ns}:{entry.namespace}" if ns and entry.namespace else entry.namespace or ns
            yield from routes(entry, (*parts, entry.pattern), inner or "")
        else:
            text = "".join(str(p) for p in (*parts, entry.pattern))
            key = f"{ns}:{entry.name}" if ns and entry.name else entry.name or text
            yield Route(key=key, namespace=ns, parts=(*parts, entry.pattern), pattern=entry)


def params(fx: Fixture, route: Route) -> dict[str, str]:
    """The value of each path parameter: the victim's objects wherever there is one."""
    album = fx.track.album
    artist = fx.track.artists.first()
    assert album is not None
    assert artist is not None
    kind = str(route.pattern.default_args.get("kind", "track"))
    entity = {"track": fx.track.pk, "artist": artist.pk, "album": album.pk}
    return {
        "entity_id": str(entity.get(kind, fx.track.pk)),
        "track_id": str(fx.track.pk),
        "album_id": str(album.pk),
        "artist_id": str(artist.pk),
        "kind": "csv" if route.key == "export" else "tracks",
        "name": "totals",
        "year": str(timezone.now().year),
        "cover_key": "0" * 40,
        "key": "0" * 40,
        "ident": "4uLU6hMCjMI75M1A2tKUQC",
        "size": "64",
        "action": "pause",
        "public_id": str(fx.imp.public_id),
        # the admin's
        "app_label": "scrobbler",
        "object_id": str(fx.victim.pk),
        "id": str(fx.victim.pk),
        "content_type_id": str(ContentType.objects.get_for_model(User).pk),
        "url": "no-such-page/",
    }


def concrete(fx: Fixture, route: Route) -> str:
    """The path of a route with its parameters filled in."""
    values = params(fx, route)

    def value(name: str) -> str:
        if name not in values:
            pytest.fail(f"{route.key}: no value for <{name}>: add one to params()")
        return values[name]

    path = ""
    for part in route.parts:
        if isinstance(part, RoutePattern):
            path += re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m[1]), str(part))
        else:
            assert isinstance(part, RegexPattern)
            text = str(part).removeprefix("^").removesuffix("$").removesuffix(r"\Z")
            text = re.sub(r"\(\?P<(\w+)>[^()]*\)", lambda m: value(m[1]), text)
            text = text.replace("/?", "/")
            assert not re.search(r"[\\^$()\[\]?*+|]", text), f"{route.key}: cannot build {text!r}"
            path += text
    return "/" + path


def body(response: HttpResponseBase) -> str:
    if isinstance(response, StreamingHttpResponse):
        if response.get("Content-Type", "").startswith("text/event-stream"):
            return ""  # the stream goes on for ever; its user is the requester, not a parameter
        return b"".join(response.streaming_content).decode(errors="replace")  # type: ignore[arg-type]
    assert isinstance(response, HttpResponse)
    return response.content.decode(errors="replace")


def request(method: str, path: str, user: User | None) -> tuple[HttpResponseBase, str]:
    client = Client(REMOTE_ADDR="198.51.100.20")
    if user is not None:
        client.force_login(user)
    response = client.get(path) if method == "GET" else client.post(path)
    return response, body(response)


SIGN_IN_PAGES = ("/accounts/login/", "/admin/login/")


def refused(response: HttpResponseBase) -> bool:
    """Refused: sent to a sign-in page, or answered 401, 403, 404 or 405."""
    if response.status_code in (301, 302):
        return str(response["Location"]).startswith(SIGN_IN_PAGES)
    return response.status_code in (401, 403, 404, 405)


@pytest.fixture
def fx(settings: Any) -> Fixture:
    settings.PLAYBACK_CONTROL_RATE = settings.IMPORT_UPLOAD_RATE = "10000/m"
    settings.SIGN_IN_RATE_PER_IP = settings.SIGN_IN_RATE_PER_USERNAME = "10000/m"
    victim = UserFactory.create(username="victim")
    intruder = UserFactory.create(username="intruder")
    track = TrackFactory.create(name="Ordinary Song")
    PlayFactory.create(user=victim, track=track)
    LibraryFile.objects.create(
        path=b"x.flac", path_key="1" * 40, display_path="x.flac", size=1, mtime_ns=0,
        track=track, scanned_at=timezone.now(),
    )  # fmt: skip
    sessions.device_register(user_id=victim.pk, client_id="phone-0001", name="Secret phone")
    imp = Import.objects.create(
        user=victim, name="secret-export.zip", status=Import.Status.READY,
        files=[{"name": "secret-export.zip"}],
    )  # fmt: skip
    return Fixture(victim=victim, intruder=intruder, track=track, imp=imp)


def test_every_url_refuses_what_it_must(fx: Fixture) -> None:
    walked: list[str] = []
    problems: list[str] = []
    before = (
        Import.objects.get(pk=fx.imp.pk).status,
        Device.objects.filter(user=fx.victim).count(),
    )
    for route in routes():
        if route.namespace in PUBLIC_NAMESPACES:
            continue
        path = concrete(fx, route)
        if resolve(path).func is not route.pattern.callback:
            assert route.key == "admin:login", f"{route.key} is shadowed by another pattern"
            continue
        walked.append(route.key)
        admin = route.namespace == "admin"
        staff_only = (admin or route.key in STAFF) and route.key not in PUBLIC
        for method in ("GET", "POST"):
            response, text = request(method, path, None)
            if response.status_code >= 500:
                problems.append(f"{method} {path} anonymous: {response.status_code}")
            elif route.key not in PUBLIC and not refused(response):
                problems.append(f"{method} {path} anonymous: {response.status_code}, not refused")
            elif any(marker in text for marker in MARKERS):
                problems.append(f"{method} {path} anonymous: shows the victim's data")

            response, text = request(method, path, fx.intruder)
            if response.status_code >= 500:
                problems.append(f"{method} {path} as another user: {response.status_code}")
            elif staff_only and not refused(response):
                problems.append(f"{method} {path} non-staff: {response.status_code}, not refused")
            elif any(marker in text for marker in MARKERS):
                problems.append(f"{method} {path} as another user: shows the victim's data")

        if not staff_only and route.key not in OWNER_MAY_404:
            # The values above name real objects of the victim's: the owner reaches them.
            response, _ = request("GET", path, fx.victim)
            if response.status_code == 404 or response.status_code >= 500:
                problems.append(f"GET {path} as its owner: {response.status_code}")
    assert problems == [], "\n".join(problems)
    # Nothing the other user sent changed the victim's things.
    assert before == (
        Import.objects.get(pk=fx.imp.pk).status,
        Device.objects.filter(user=fx.victim).count(),
    )
    assert User.objects.filter(pk=fx.intruder.pk).exists()
    # The walk covered the site, the API, the imports and the admin. (Audio, /media/tracks/<id>,
    # is answered in front of the URLconf by playback.media_app: tests/playback/test_media_http.py
    # requests it anonymously, with other users' and stale tokens, over real HTTP.)
    for key in (
        "import-detail",
        "api-session-control",
        "admin:index",
        "admin-login",
    ):
        assert key in walked
    assert sum(key.startswith("admin:") for key in walked) > 20


def test_the_walk_notices_a_private_page_that_is_public(fx: Fixture) -> None:
    """The check itself: a page answering anonymous visitors is not `refused`."""
    response, _ = request("GET", "/healthz", None)
    assert not refused(response)
    response, _ = request("GET", f"/imports/{fx.imp.public_id}/", None)
    assert refused(response)
    response, text = request("GET", f"/imports/{fx.imp.public_id}/", fx.victim)
    assert response.status_code == 200
    assert "secret-export" in text  # the marker the walk looks for is on the owner's page
    # Staff do get in where others are refused.
    staff = UserFactory.create(username="operator", is_staff=True)
    for path in ("/admin/", "/system/"):
        assert request("GET", path, staff)[0].status_code == 200
        assert refused(request("GET", path, fx.intruder)[0])
