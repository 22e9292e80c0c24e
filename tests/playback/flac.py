"""Real FLAC files for tests and benchmarks: audio encoded by libsndfile, tags by mutagen."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import mutagen.flac
import numpy as np
import soundfile


def flac_write(
    path: Path,
    *,
    seconds: float = 2.0,
    sample_rate: int = 44_100,
    tags: Mapping[str, str | Sequence[str]] | None = None,
    cover: bytes | None = None,
    seed: int = 0,
) -> Path:
    """Write a stereo 16-bit FLAC of noise (incompressible, so the size is realistic: about
    170 kB per second) with Vorbis comments `tags` and, if given, `cover` as its front cover."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(-20_000, 20_000, (int(seconds * sample_rate), 2), dtype=np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, frames, sample_rate, format="FLAC", subtype="PCM_16")
    audio = mutagen.flac.FLAC(path)
    for key, value in (tags or {}).items():
        audio[key] = [value] if isinstance(value, str) else list(value)
    if cover is not None:
        picture = mutagen.flac.Picture()
        picture.type = 3  # front cover
        picture.mime = "image/png" if cover.startswith(b"\x89PNG") else "image/jpeg"
        picture.data = cover
        audio.add_picture(picture)
    audio.save()
    return path


def png_bytes(width: int = 800, height: int = 800, colour: str = "teal") -> bytes:
    """A PNG image, as an embedded cover."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()
