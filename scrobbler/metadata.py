"""Filling in what poll responses and exports leave out: artist images, album covers, release
dates, durations. Each entity is fetched once, a few per run, in the background."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from scrobbler.catalog import catalog_upsert, track_entry
from scrobbler.models import Album, Artist, SpotifyAccount, Track
from scrobbler.spotify import accounts
from scrobbler.spotify.client import SPOTIFY_ID
from scrobbler.spotify.errors import SpotifyError, SpotifyRateLimited, SpotifyUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetadataRun:
    fetched: int
    stopped_by: str = ""


def _spotify_id(uri: str, kind: str) -> str | None:
    prefix = f"spotify:{kind}:"
    ident = uri.removeprefix(prefix)
    return ident if uri.startswith(prefix) and SPOTIFY_ID.fullmatch(ident) else None


def _pending() -> list[tuple[str, int, str]]:
    """(kind, pk, spotify id) of entities still missing details, at most METADATA_BATCH_SIZE."""
    limit = settings.METADATA_BATCH_SIZE
    rows: list[tuple[str, int, str]] = []
    queries: list[tuple[str, Any]] = [
        ("artist", Artist.objects.filter(details_fetched_at__isnull=True, image_url="")),
        (
            "album",
            Album.objects.filter(
                Q(image_url="") | Q(release_date=""), details_fetched_at__isnull=True
            ),
        ),
        (
            "track",
            Track.objects.filter(
                Q(duration_ms__isnull=True) | Q(album__isnull=True), details_fetched_at__isnull=True
            ),
        ),
    ]
    for kind, queryset in queries:
        candidates = queryset.filter(uri__startswith=f"spotify:{kind}:").values_list("pk", "uri")
        for pk, uri in candidates[: limit - len(rows)]:
            ident = _spotify_id(uri, kind)
            if ident is not None:
                rows.append((kind, pk, ident))
        if len(rows) >= limit:
            break
    return rows


def metadata_fetch_missing() -> MetadataRun:
    """Fetch details for up to METADATA_BATCH_SIZE entities with any active account's token.

    A rate limit or outage ends the run (the rest waits for the next one); an entity Spotify does
    not know is marked fetched so it is not asked for again.
    """
    account_id = (
        SpotifyAccount.objects.filter(status=SpotifyAccount.Status.ACTIVE)
        .order_by("last_success_at")
        .values_list("pk", flat=True)
        .first()
    )
    pending = _pending()
    if account_id is None or not pending:
        return MetadataRun(fetched=0)
    fetched = 0
    for kind, pk, ident in pending:
        try:
            body = accounts.spotify_call(
                account_id=account_id,
                request=lambda client, kind=kind, ident=ident: getattr(client, kind)(ident),
            )
        except (SpotifyRateLimited, SpotifyUnavailable) as exc:
            return MetadataRun(fetched=fetched, stopped_by=str(exc))
        except SpotifyError as exc:
            log.info("no details for %s %s: %s", kind, ident, exc)
            body = None
        _apply(kind, pk, body if isinstance(body, dict) else None)
        fetched += 1
    return MetadataRun(fetched=fetched)


def _apply(kind: str, pk: int, body: dict[str, Any] | None) -> None:
    now = timezone.now()
    if kind == "artist":
        images = (body or {}).get("images") or []
        image = str(images[0].get("url") or "")[:500] if images else ""
        Artist.objects.filter(pk=pk).update(
            details_fetched_at=now, **({"image_url": image} if image else {})
        )
    elif kind == "album":
        updates: dict[str, Any] = {"details_fetched_at": now}
        if body:
            images = body.get("images") or []
            if images:
                updates["image_url"] = str(images[0].get("url") or "")[:500]
            if body.get("release_date"):
                updates["release_date"] = str(body["release_date"])[:10]
        Album.objects.filter(pk=pk).update(**updates)
    else:
        entry = track_entry(body) if body else None
        if entry is not None:
            catalog_upsert([entry])
        Track.objects.filter(pk=pk).update(details_fetched_at=now)
