"""Cover art embedded in the library's files, cut to a few sizes and cached on disk."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from mutagen.flac import FLAC
from PIL import Image, ImageOps

from playback.models import LibraryFile

log = logging.getLogger(__name__)

COVER_SIZES = (64, 160, 300, 600)
COVER_ALBUM_SIZE = 300  # the size albums' image_url points at
COVER_KEY = re.compile(r"[0-9a-f]{40}")
COVER_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
COVER_MAX_PIXELS = 40_000_000
# Pillow refuses bigger images (decompression bombs) itself; a cover never needs more.
Image.MAX_IMAGE_PIXELS = COVER_MAX_PIXELS


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
    jpeg = _cover_resize(picture, size) if picture is not None else None
    if jpeg is not None:
        _write_atomically(cached, jpeg)
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


def _cover_resize(picture: bytes, size: int) -> bytes | None:
    try:
        with Image.open(io.BytesIO(picture), formats=COVER_FORMATS) as opened:
            # Pillow only warns below twice MAX_IMAGE_PIXELS; nothing that big is decoded here.
            if opened.width * opened.height > COVER_MAX_PIXELS:
                raise ValueError(f"{opened.width}x{opened.height} pixels")
            opened.draft("RGB", (size, size))  # JPEG: decode at a fraction of the size
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((size, size), Image.Resampling.LANCZOS)  # never enlarges
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, "white")
                image.paste(rgba, mask=rgba.getchannel("A"))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    except Exception as exc:  # hostile or broken images raise all sorts; never a 500
        log.warning("cover image refused: %s: %s", type(exc).__name__, exc)
        return None
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the whole file or none (several workers may cut the same cover at once)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as exc:
        log.warning("cover cache not written (%s): serving uncached", exc)
