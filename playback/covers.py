"""Cover art embedded in the library's files, cut to a few sizes and cached on disk."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from mutagen.flac import FLAC

from ops.images import image_resize, write_atomically
from playback.models import LibraryFile

log = logging.getLogger(__name__)

COVER_SIZES = (64, 160, 300, 600)
COVER_ALBUM_SIZE = 300  # the size albums' image_url points at
COVER_KEY = re.compile(r"[0-9a-f]{40}")


def picture_key(picture: bytes) -> str:
    """A picture's key: its SHA-1, so the same cover in many files is cut and cached once."""
    return hashlib.sha1(picture, usedforsecurity=False).hexdigest()


def cover_url(cover_key: str, size: int) -> str:
    return reverse("library-cover", args=[cover_key, size])


def cover_jpeg(*, cover_key: str, size: int) -> bytes | None:
    """The embedded cover whose SHA-1 is `cover_key`, as a JPEG at most `size` pixels square;
    None if no readable file of the library has it or it is not a usable image.

    Cut once, then served from COVER_CACHE_DIR (the key is a content hash: never stale)."""
    if size not in COVER_SIZES or not COVER_KEY.fullmatch(cover_key):
        return None
    files = LibraryFile.objects.filter(cover_key=cover_key, error="").order_by("pk")
    paths = [bytes(path) for path in files.values_list("path", flat=True)[:3]]
    if not paths:
        return None
    cached = Path(settings.COVER_CACHE_DIR) / f"{cover_key}-{size}.jpg"
    try:
        return cached.read_bytes()
    except FileNotFoundError:
        pass
    picture = next(filter(None, (cover_picture(rel, cover_key) for rel in paths)), None)
    jpeg = image_resize(picture, size) if picture is not None else None
    if jpeg is not None:
        write_atomically(cached, jpeg)  # if it cannot be (logged there), served uncached
    return jpeg


def cover_picture(rel: bytes, cover_key: str) -> bytes | None:
    """The picture whose SHA-1 is `cover_key` embedded in the library file at `rel`; None if the
    file is gone, unreadable, has no such picture, or now resolves outside MUSIC_ROOT."""
    root = os.path.realpath(os.fsencode(settings.MUSIC_ROOT))
    path = os.path.realpath(os.path.join(root, rel))
    if os.path.commonpath([root, path]) != root:
        log.warning("cover %s: %r resolves outside MUSIC_ROOT", cover_key, rel)
        return None
    try:
        audio = FLAC(path)
    except Exception as exc:  # a file changed since the scan; hostile files trip parser bugs
        log.info("cover %s: %r not read (%s)", cover_key, rel, exc)
        return None
    return next((p.data for p in audio.pictures if picture_key(p.data) == cover_key), None)
