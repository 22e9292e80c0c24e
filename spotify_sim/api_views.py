"""The simulated Web API (``v1/...``): the user, playback, history, catalog and playlists."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from spotify_sim.catalog import is_spotify_id
from spotify_sim.render import (
    JSON,
    album_json,
    album_tracks_json,
    artist_json,
    context_json,
    paging_json,
    playback_json,
    playlist_items_json,
    simplified_playlist_json,
    track_json,
)
from spotify_sim.times import iso_ms
from spotify_sim.web import (
    ApiContext,
    api_error,
    api_view,
    json_response,
    no_content,
    query_int,
)

PLAYBACK_SCOPES = ("user-read-playback-state",)
CURRENTLY_PLAYING_SCOPES = ("user-read-currently-playing", "user-read-playback-state")
PLAYLIST_SCOPES = ("playlist-read-private", "playlist-read-collaborative")


@api_view()
def me(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """PrivateUserObject; email needs ``user-read-email``, country and product
    ``user-read-private``, as on Spotify."""
    account = ctx.account
    body: JSON = {
        "display_name": account.display_name,
        "external_urls": {"spotify": f"https://open.spotify.com/user/{account.id}"},
        "followers": {"href": None, "total": 0},
        "href": f"{ctx.api}/users/{account.id}",
        "id": account.id,
        "images": [],
        "type": "user",
        "uri": f"spotify:user:{account.id}",
    }
    if "user-read-email" in ctx.scope:
        body["email"] = account.email
    if "user-read-private" in ctx.scope:
        body["country"] = account.options.country
        body["product"] = account.options.product
        body["explicit_content"] = {"filter_enabled": False, "filter_locked": False}
    return json_response(body)


def _playback(request: HttpRequest, ctx: ApiContext, *, with_device: bool) -> HttpResponse:
    state = ctx.account.listener.state_at(ctx.now_ms)
    if state is None or state.segment.private:  # idle, or a private session: 204, no body
        return no_content()
    types = request.GET.get("additional_types", "").split(",")
    body = playback_json(
        ctx.account.listener.catalog,
        state,
        ctx.api,
        with_device=with_device,
        episodes="episode" in types,
    )
    return json_response(body)


@api_view(*PLAYBACK_SCOPES)
def player(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """Playback state with the device, or 204."""
    return _playback(request, ctx, with_device=True)


@api_view(*CURRENTLY_PLAYING_SCOPES)
def currently_playing(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """The current item, or 204 (idle, private session)."""
    return _playback(request, ctx, with_device=False)


@api_view("user-read-recently-played")
def recently_played(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """CursorPagingPlayHistoryObject: the newest plays first, ``after`` XOR ``before`` (epoch
    ms), at most 50 reachable. ``cursors`` is null when there are no items, as on Spotify."""
    try:
        limit = query_int(request, "limit", default=20, low=1, high=50)
        after = query_int(request, "after", default=None, low=0, high=2**53)
        before = query_int(request, "before", default=None, low=0, high=2**53)
    except ValueError as error:
        return api_error(400, str(error))
    assert limit is not None
    if after is not None and before is not None:
        return api_error(400, "Only one of after and before can be specified")
    account = ctx.account
    page = account.listener.recently_played(
        ctx.now_ms, limit=limit, after=after, before=before, options=account.options.history
    )
    catalog = account.listener.catalog
    items = []
    for entry in page.items:
        track = catalog.tracks[entry.play.track_uri.rpartition(":")[2]]
        items.append(
            {
                "track": track_json(catalog, track, ctx.api),
                "played_at": iso_ms(entry.played_at_ms),
                "context": context_json(entry.play.context_uri, ctx.api),
            }
        )
    url = f"{ctx.api}/me/player/recently-played"
    cursors = None
    next_url = None
    if page.items:
        newest, oldest = page.items[0].played_at_ms, page.items[-1].played_at_ms
        cursors = {"after": str(newest), "before": str(oldest)}
        if page.has_more:
            direction = {"after": newest} if after is not None else {"before": oldest}
            next_url = f"{url}?{urlencode({**direction, 'limit': limit})}"
    body = {
        "href": request.build_absolute_uri(),
        "items": items,
        "limit": limit,
        "next": next_url,
        "cursors": cursors,
    }
    return json_response(body)


def _bad_id(value: str) -> HttpResponse | None:
    return None if is_spotify_id(value) else api_error(400, "Invalid base62 id")


def _not_found() -> HttpResponse:
    return api_error(404, "Resource not found")


@api_view()
def track(request: HttpRequest, ctx: ApiContext, track_id: str) -> HttpResponse:
    catalog = ctx.account.listener.catalog
    if error := _bad_id(track_id):
        return error
    found = catalog.tracks.get(track_id)
    return json_response(track_json(catalog, found, ctx.api)) if found else _not_found()


@api_view()
def artist(request: HttpRequest, ctx: ApiContext, artist_id: str) -> HttpResponse:
    catalog = ctx.account.listener.catalog
    if error := _bad_id(artist_id):
        return error
    found = catalog.artists.get(artist_id)
    return json_response(artist_json(found, ctx.api)) if found else _not_found()


@api_view()
def album(request: HttpRequest, ctx: ApiContext, album_id: str) -> HttpResponse:
    catalog = ctx.account.listener.catalog
    if error := _bad_id(album_id):
        return error
    found = catalog.albums.get(album_id)
    return json_response(album_json(catalog, found, ctx.api)) if found else _not_found()


@api_view()
def album_tracks(request: HttpRequest, ctx: ApiContext, album_id: str) -> HttpResponse:
    catalog = ctx.account.listener.catalog
    if error := _bad_id(album_id):
        return error
    found = catalog.albums.get(album_id)
    if found is None:
        return _not_found()
    try:
        limit = query_int(request, "limit", default=20, low=1, high=50) or 20
        offset = query_int(request, "offset", default=0, low=0, high=100_000) or 0
    except ValueError as error:
        return api_error(400, str(error))
    return json_response(album_tracks_json(catalog, found, ctx.api, limit=limit, offset=offset))


@api_view(*PLAYLIST_SCOPES)
def my_playlists(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """The account's playlists, paged by ``limit``/``offset``."""
    try:
        limit = query_int(request, "limit", default=20, low=1, high=50) or 20
        offset = query_int(request, "offset", default=0, low=0, high=100_000) or 0
    except ValueError as error:
        return api_error(400, str(error))
    account = ctx.account
    playlists = account.listener.playlists
    items = [
        simplified_playlist_json(playlist, account.id, account.display_name, ctx.api)
        for playlist in playlists[offset : offset + limit]
    ]
    url = f"{ctx.api}/me/playlists"
    return json_response(paging_json(url, items, total=len(playlists), limit=limit, offset=offset))


@api_view(*PLAYLIST_SCOPES)
def playlist_items(request: HttpRequest, ctx: ApiContext, playlist_id: str) -> HttpResponse:
    """A playlist's items; only for its owner (403 for anyone else, as since February 2026)."""
    if error := _bad_id(playlist_id):
        return error
    found = ctx.sim.playlist(playlist_id)
    if found is None:
        return _not_found()
    owner, playlist = found
    if owner.id != ctx.account.id:
        return api_error(403, "Forbidden")
    try:
        limit = query_int(request, "limit", default=20, low=1, high=50) or 20
        offset = query_int(request, "offset", default=0, low=0, high=100_000) or 0
    except ValueError as error:
        return api_error(400, str(error))
    catalog = owner.listener.catalog
    body = playlist_items_json(catalog, playlist, owner.id, ctx.api, limit=limit, offset=offset)
    return json_response(body)


@csrf_exempt
def unknown_endpoint(request: HttpRequest, rest: str) -> HttpResponse:
    """Anything else under ``v1/`` (including the deprecated endpoints left out on purpose)."""
    return api_error(404, "Service not found")
