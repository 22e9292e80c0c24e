"""Each user's own Spotify playlists, scanned daily and linked to the catalog."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from scrobbler.catalog import catalog_upsert, track_entry
from scrobbler.models import Playlist, PlaylistItem, SpotifyAccount
from scrobbler.spotify import accounts
from scrobbler.spotify.client import validate_spotify_id
from scrobbler.spotify.errors import SpotifyError

log = logging.getLogger(__name__)

SCAN_INTERVAL = timedelta(days=1)
PAGE_LIMIT = 50
MAX_PAGES = 200  # 10,000 playlists or items: a bound, so a misbehaving API cannot loop us forever


def playlists_due(*, now: datetime, limit: int) -> list[int]:
    return list(
        SpotifyAccount.objects.filter(status=SpotifyAccount.Status.ACTIVE)
        .filter(
            Q(playlists_scanned_at__isnull=True) | Q(playlists_scanned_at__lt=now - SCAN_INTERVAL)
        )
        .order_by("playlists_scanned_at")
        .values_list("pk", flat=True)[:limit]
    )


def _pages(account_id: int, first: Any) -> list[dict[str, Any]]:
    """All items of a paged Spotify response, following `next` links with the account's token."""
    items: list[dict[str, Any]] = []
    page = accounts.spotify_call(account_id=account_id, request=first)
    for _ in range(MAX_PAGES):
        if not isinstance(page, dict):
            break
        items.extend(i for i in page.get("items") or [] if isinstance(i, dict))
        if not page.get("next"):
            break
        page = accounts.spotify_call(account_id=account_id, request=lambda c, p=page: c.next(p))
    return items


def playlists_scan(*, account_id: int) -> int:
    """Refresh the account owner's playlists whose snapshot changed; returns playlists updated."""
    account = SpotifyAccount.objects.get(pk=account_id)
    now = timezone.now()
    playlists = _pages(account_id, lambda c: c.current_user_playlists(limit=PAGE_LIMIT))
    updated = 0
    seen: list[str] = []
    for playlist in playlists:
        owner = (playlist.get("owner") or {}).get("id")
        ident = str(playlist.get("id") or "")
        if owner != account.spotify_user_id:
            continue  # Spotify lists only the owner's playlist items to an app in development mode
        try:
            validate_spotify_id(ident)
        except ValueError:
            continue
        seen.append(ident)
        stored = Playlist.objects.filter(user_id=account.user_id, spotify_id=ident).first()
        snapshot = str(playlist.get("snapshot_id") or "")
        if stored is not None and snapshot and stored.snapshot_id == snapshot:
            continue
        try:
            items = _pages(account_id, lambda c, i=ident: c.playlist_items(i, limit=PAGE_LIMIT))
        except SpotifyError as exc:
            log.info("playlist %s of account %s not scanned: %s", ident, account_id, exc)
            continue
        _store(account.user_id, ident, str(playlist.get("name") or "")[:500], snapshot, items, now)
        updated += 1
    with transaction.atomic():
        Playlist.objects.filter(user_id=account.user_id).exclude(spotify_id__in=seen).delete()
        SpotifyAccount.objects.filter(pk=account_id).update(playlists_scanned_at=now)
    return updated


def _store(
    user_id: int, ident: str, name: str, snapshot: str, items: list[dict[str, Any]], now: datetime
) -> None:
    entries = []
    for item in items:
        entry = track_entry(item.get("item") or item.get("track") or {})
        if entry is not None:
            entries.append((entry, parse_datetime(str(item.get("added_at") or ""))))
    track_ids = catalog_upsert(entry for entry, _ in entries)
    with transaction.atomic():
        playlist, _ = Playlist.objects.update_or_create(
            user_id=user_id,
            spotify_id=ident,
            defaults={"name": name, "snapshot_id": snapshot, "scanned_at": now},
        )
        PlaylistItem.objects.filter(playlist=playlist).delete()
        PlaylistItem.objects.bulk_create(
            PlaylistItem(
                playlist=playlist, track_id=track_ids[entry.uri], position=n, added_at=added
            )
            for n, (entry, added) in enumerate(entries)
        )
