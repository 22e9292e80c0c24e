from __future__ import annotations

import re

from spotify_sim.catalog import (
    LocalTrack,
    default_catalog,
    generate_catalog,
    generate_playlists,
    is_spotify_id,
)


def test_ids_are_unique_22_character_base62_strings() -> None:
    catalog = default_catalog()
    ids = [*catalog.artists, *catalog.albums, *catalog.tracks, *catalog.shows, *catalog.episodes]
    assert all(is_spotify_id(value) for value in ids)
    assert len(set(ids)) == len(ids)


def test_the_same_seed_gives_the_same_catalog_and_another_seed_another() -> None:
    assert generate_catalog("a") == generate_catalog("a")
    assert set(generate_catalog("a").tracks).isdisjoint(generate_catalog("b").tracks)


def test_catalog_has_short_interludes_and_long_pieces() -> None:
    durations = [track.duration_ms for track in default_catalog().tracks.values()]
    assert any(20_000 <= d <= 40_000 for d in durations)
    assert any(d >= 480_000 for d in durations)
    assert len(durations) > 1_000


def test_isrcs_and_release_dates_have_spotify_shapes() -> None:
    catalog = default_catalog()
    assert all(re.fullmatch(r"[A-Z]{2}[A-Z0-9]{3}\d{7}", t.isrc) for t in catalog.tracks.values())
    shapes = {"year": r"\d{4}", "month": r"\d{4}-\d\d", "day": r"\d{4}-\d\d-\d\d"}
    precisions = set()
    for album in catalog.albums.values():
        assert re.fullmatch(shapes[album.release_date_precision], album.release_date)
        precisions.add(album.release_date_precision)
        assert [image.width for image in album.images] == [640, 300, 64]
    assert precisions == {"year", "month", "day"}


def test_tracks_belong_to_their_album_in_disc_and_track_order() -> None:
    catalog = default_catalog()
    for album in catalog.albums.values():
        tracks = [catalog.tracks[track_id] for track_id in album.track_ids]
        assert all(track.album_id == album.id for track in tracks)
        order = [(track.disc_number, track.track_number) for track in tracks]
        assert order == sorted(order)


def test_local_file_uri_is_form_encoded_with_duration_in_seconds() -> None:
    local = LocalTrack("Zoë & The Tapes", "Café Sessions", "Blue Days", 187_000)
    assert local.uri == "spotify:local:Zo%C3%AB+%26+The+Tapes:Caf%C3%A9+Sessions:Blue+Days:187"


def test_playlists_depend_on_their_owner_and_some_hold_local_files() -> None:
    catalog = default_catalog()
    mine, theirs = generate_playlists(catalog, "1:alice"), generate_playlists(catalog, "1:bob")
    assert {p.id for p in mine}.isdisjoint(p.id for p in theirs)
    assert mine == generate_playlists(catalog, "1:alice")
    assert any(uri.startswith("spotify:local:") for p in mine for uri in p.item_uris)
    for playlist in mine:
        assert all(catalog.duration_of(uri) for uri in playlist.item_uris)
        assert list(playlist.added_at_ms) == sorted(playlist.added_at_ms)
