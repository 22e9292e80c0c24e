"""Album and artist pictures: each `image_url` (Spotify's image CDN, or the simulator) downloaded
once in the background, resized to PICTURE_SIZES square JPEGs and stored under PICTURES_DIR by
the SHA-1 of the download (`picture_key`), so pages serve them from Encore and the browser never
asks a third party.

A run fetches at most PICTURES_BATCH_SIZE. Downloads are refused from hosts not allowed (a
hostile image_url must not make the worker fetch internal URLs), above PICTURES_MAX_KB (before
reading it all), past PICTURES_TIMEOUT_SECONDS, or when the bytes are not an image. A failure
counts an attempt and waits twice as long each time, up to PICTURES_MAX_ATTEMPTS; a 429 stops
the run and the next ones until its Retry-After; an outage (5xx, timeout) stops the run."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from ops.images import image_resize, write_atomically
from scrobbler.models import Album, Artist
from scrobbler.tasks import fetch_pictures as fetch_pictures_task

log = logging.getLogger(__name__)

PICTURE_SIZES = (64, 300)
PICTURE_KEY = re.compile(r"[0-9a-f]{40}")
RETRY_FIRST = timedelta(hours=1)  # then 2 h, 4 h, ...
RETRY_AFTER_DEFAULT = 60  # seconds, when a 429 says nothing
RETRY_AFTER_MAX = 24 * 3600
PAUSED_KEY = "pictures:paused-until"
LOCK_KEY = "pictures:running"
CHUNK = 64 * 1024


class PictureRefused(Exception):
    """This entity's picture could not be had; counted as an attempt."""


class PictureHostDown(PictureRefused):
    """The image host failed (5xx, timeout, connection): the run stops."""


class _NotAllowed(PictureRefused):
    """Not an allowed host: never tried again."""


class PictureNotStored(Exception):
    """PICTURES_DIR is not writable: the run stops, the entity loses no attempt."""


class PictureRateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"429, retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class PicturesRun:
    stored: int = 0
    failed: int = 0
    stopped_by: str = ""


def picture_path(key: str, size: int) -> Path:
    return Path(settings.PICTURES_DIR) / f"{key}-{size}.jpg"


def picture_url(key: str, size: int) -> str:
    return reverse("picture", args=[key, size])


def picture_jpeg(*, key: str, size: int) -> bytes | None:
    """The stored picture `key` at `size`; None if the key or size is not one, or it is absent."""
    if size not in PICTURE_SIZES or not PICTURE_KEY.fullmatch(key):
        return None
    try:
        return picture_path(key, size).read_bytes()
    except OSError:
        return None


def pictures_fetch_missing() -> PicturesRun:
    """Download, resize and store up to PICTURES_BATCH_SIZE missing pictures (see above).
    Runs do not overlap: a second one started meanwhile does nothing."""
    paused = cache.get(PAUSED_KEY)
    if paused is not None and paused > time.time():
        return PicturesRun(stopped_by="rate limited")
    if not cache.add(LOCK_KEY, 1, timeout=settings.PICTURES_TIMEOUT_SECONDS * 3 + 600):
        return PicturesRun(stopped_by="another run is under way")
    try:
        return _run()
    finally:
        cache.delete(LOCK_KEY)


def pictures_fetch_queue() -> None:
    """Have a worker fetch missing pictures once the current transaction commits (after a
    metadata run found new image_urls, say), rather than at the next beat."""
    transaction.on_commit(fetch_pictures_task.delay)


def _pending() -> list[tuple[type[Artist] | type[Album], int, str]]:
    limit = settings.PICTURES_BATCH_SIZE
    due = Q(picture_retry_at__isnull=True) | Q(picture_retry_at__lte=timezone.now())
    rows: list[tuple[Any, int, str]] = []
    for model in (Album, Artist):
        candidates = (
            model.objects.filter(
                due,
                picture_key="",
                picture_attempts__lt=settings.PICTURES_MAX_ATTEMPTS,
                image_url__startswith="http",  # not the library's own covers ("/library/...")
            )
            .order_by("pk")
            .values_list("pk", "image_url")
        )
        rows += [(model, pk, url) for pk, url in candidates[: limit - len(rows)]]
    return rows


def _run() -> PicturesRun:
    stored = failed = 0
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    with session:
        for model, pk, url in _pending():
            name = f"{model.__name__.lower()} {pk}"
            try:
                key = _store(_download(session, url))
            except PictureRateLimited as exc:
                cache.set(PAUSED_KEY, time.time() + exc.retry_after, timeout=exc.retry_after)
                log.warning("pictures: %s from %s; run stopped", exc, _host(url))
                return PicturesRun(stored, failed, stopped_by=str(exc))
            except PictureNotStored as exc:
                log.warning("pictures: %s; run stopped", exc)
                return PicturesRun(stored, failed, stopped_by=str(exc))
            except PictureRefused as exc:
                _failed(model, pk, give_up=isinstance(exc, _NotAllowed))
                failed += 1
                log.warning("picture of %s refused (%s): %s", name, _host(url), exc)
                if isinstance(exc, PictureHostDown):
                    return PicturesRun(stored, failed, stopped_by=str(exc))
                continue
            model.objects.filter(pk=pk).update(
                picture_key=key, picture_attempts=0, picture_retry_at=None
            )
            stored += 1
    if stored or failed:
        log.info("pictures: %d stored, %d failed", stored, failed)
    return PicturesRun(stored, failed)


def _host(url: str) -> str:
    return urlsplit(url).netloc or "?"


def _allowed(url: str) -> bool:
    parts = urlsplit(url)
    simulator = urlsplit(settings.SPOTIFY_API_BASE_URL)
    if parts.username or parts.password:
        return False
    if parts.scheme == simulator.scheme and parts.netloc == simulator.netloc:
        return True
    return parts.scheme == "https" and (parts.hostname or "") in settings.PICTURES_ALLOWED_HOSTS


def _download(session: requests.Session, url: str) -> bytes:
    if not _allowed(url):
        raise _NotAllowed("host not in PICTURES_ALLOWED_HOSTS")
    cap = settings.PICTURES_MAX_KB * 1024
    timeout = settings.PICTURES_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout  # the read timeout is per chunk: a trickle must end too
    try:
        # No redirects: each hop would have to be checked against the allowed hosts again.
        with session.get(url, stream=True, timeout=timeout, allow_redirects=False) as response:
            status = response.status_code
            if status == 429:
                raise PictureRateLimited(_retry_after(response.headers.get("Retry-After")))
            if status >= 500:
                raise PictureHostDown(f"HTTP {status}")
            if status != 200:
                raise PictureRefused(f"HTTP {status}")
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > cap:
                raise PictureRefused(f"{length} bytes, more than PICTURES_MAX_KB")
            body = bytearray()
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > cap:
                    raise PictureRefused("more than PICTURES_MAX_KB")
                if time.monotonic() > deadline:
                    raise PictureHostDown("download took longer than PICTURES_TIMEOUT_SECONDS")
    except requests.RequestException as exc:
        raise PictureHostDown(f"{type(exc).__name__}: {exc}") from exc
    return bytes(body)


def _retry_after(value: str | None) -> int:
    seconds = int(value) if value and value.strip().isdigit() else RETRY_AFTER_DEFAULT
    return max(1, min(seconds, RETRY_AFTER_MAX))


def _store(data: bytes) -> str:
    """Resize and write every size; the key, once all are on disk."""
    key = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    for size in PICTURE_SIZES:
        path = picture_path(key, size)
        if path.exists():  # content-addressed: the same picture is stored once
            continue
        jpeg = image_resize(data, size, what="picture")
        if jpeg is None:
            raise PictureRefused("not a usable image")
        if not write_atomically(path, jpeg):
            raise PictureNotStored(f"{path.parent} not writable")
    return key


def _failed(model: type[Artist] | type[Album], pk: int, *, give_up: bool) -> None:
    entity = model.objects.filter(pk=pk).only("picture_attempts").first()
    if entity is None:
        return
    attempts = settings.PICTURES_MAX_ATTEMPTS if give_up else entity.picture_attempts + 1
    wait = RETRY_FIRST * 2 ** max(0, attempts - 1)
    model.objects.filter(pk=pk).update(
        picture_attempts=attempts, picture_retry_at=timezone.now() + wait
    )
