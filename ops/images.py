"""Pictures cut to a square JPEG with Pillow, and written to disk atomically: shared by the
library's embedded covers (playback.covers) and downloaded album and artist pictures
(scrobbler.pictures). Hostile or broken images give None and a log line, never an exception."""

from __future__ import annotations

import io
import logging
import os
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
IMAGE_MAX_PIXELS = 40_000_000
# Pillow refuses bigger images (decompression bombs) itself; a cover never needs more.
Image.MAX_IMAGE_PIXELS = IMAGE_MAX_PIXELS


def image_resize(picture: bytes, size: int, *, what: str = "cover") -> bytes | None:
    """`picture` as a JPEG at most `size` pixels square (never enlarged); None if it is not a
    usable image (logged as "<what> image refused")."""
    try:
        with Image.open(io.BytesIO(picture), formats=IMAGE_FORMATS) as opened:
            # Pillow only warns below twice MAX_IMAGE_PIXELS; nothing that big is decoded here.
            if opened.width * opened.height > IMAGE_MAX_PIXELS:
                raise ValueError(f"{opened.width}x{opened.height} pixels")
            opened.draft("RGB", (size, size))  # JPEG: decode at a fraction of the size
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, "white")
                image.paste(rgba, mask=rgba.getchannel("A"))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    except Exception as exc:  # hostile or broken images raise all sorts; never a 500
        log.warning("%s image refused: %s: %s", what, type(exc).__name__, exc)
        return None
    return out.getvalue()


def write_atomically(path: Path, data: bytes) -> bool:
    """Readers see the whole file or none (several workers may write the same one at once).
    False (logged) if it could not be written."""
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
        log.warning("%s not written: %s", path, exc)
        return False
    return True
