"""Browsing the library: an album's tracks, the artists, an artist's albums, and track search
(thin: the queries are in playback.browse). The pages work without JavaScript; their play and
queue buttons are handled by the player (static/js/player.js)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ops.query import PageQuery, QueryPage, QueryText, query_form, query_of
from playback import browse
from scrobbler.models import Artist

ARTISTS_PER_PAGE = 100
TRACKS_PER_PAGE = 50
QUERY_MAX_CHARS = 200


@require_GET
@login_required
def album(request: HttpRequest, album_id: int) -> HttpResponse:
    detail = browse.album_detail(album_id=album_id)
    if detail is None:
        raise Http404("No such album")
    return render(request, "playback/browse/album.html", {"detail": detail, "section": "albums"})


@require_GET
@login_required
@query_form(PageQuery)
def artists(request: HttpRequest) -> HttpResponse:
    page = Paginator(browse.library_artists(), ARTISTS_PER_PAGE).get_page(query_of(request)["page"])
    return render(request, "playback/browse/artists.html", {"page": page, "section": "artists"})


@require_GET
@login_required
def artist(request: HttpRequest, artist_id: int) -> HttpResponse:
    found = get_object_or_404(Artist, pk=artist_id)
    context = {
        "artist": found,
        "albums": browse.artist_albums(artist_id=artist_id),
        "loose_tracks": browse.artist_loose_tracks(artist_id=artist_id),
        "section": "artists",
    }
    return render(request, "playback/browse/artist.html", context)


class TrackSearchQuery(forms.Form):
    q = QueryText(max_length=QUERY_MAX_CHARS)
    page = QueryPage()


@require_GET
@login_required
@query_form(TrackSearchQuery)
def tracks(request: HttpRequest) -> HttpResponse:
    query = query_of(request)["q"]
    results = browse.library_track_search(query)
    page = Paginator(results, TRACKS_PER_PAGE).get_page(query_of(request)["page"])
    rows = [browse.LibraryTrack(track=track) for track in page.object_list]
    context = {"page": page, "rows": rows, "query": query, "section": "tracks"}
    return render(request, "playback/browse/tracks.html", context)
