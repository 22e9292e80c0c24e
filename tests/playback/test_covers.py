from __future__ import annotations

import hashlib
import io
import logging
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from playback import library
from playback.library import library_scan
from scrobbler.models import User
from tests.playback.flac import flac_write, png_bytes

pytestmark = pytest.mark.django_db


def with_cover(music_root: Path, cover: bytes, name: str = "a.flac") -> str:
    """Scan a file with `cover` embedded; its cover key."""
    flac_write(music_root / name, seconds=0.2, tags={"TITLE": name}, cover=cover)
    library_scan()
    return hashlib.sha1(cover, usedforsecurity=False).hexdigest()


def cover_url(key: str, size: int = 300) -> str:
    return reverse("library-cover", args=[key, size])


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def test_a_cover_is_a_jpeg_cut_to_size(client: Client, alice: User, music_root: Path) -> None:
    key = with_cover(music_root, png_bytes(800, 400))
    client.force_login(alice)
    for size, expected in ((64, (64, 32)), (160, (160, 80)), (300, (300, 150)), (600, (600, 300))):
        response = client.get(cover_url(key, size))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, max-age=2592000, immutable"
        assert response["ETag"] == f'"{key}-{size}"'
        image = Image.open(io.BytesIO(response.content))
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        assert image.size == expected


def test_a_small_cover_is_never_enlarged(client: Client, alice: User, music_root: Path) -> None:
    key = with_cover(music_root, png_bytes(100, 120))
    client.force_login(alice)
    response = client.get(cover_url(key, 600))
    assert Image.open(io.BytesIO(response.content)).size == (100, 120)


def test_transparent_and_cmyk_covers_become_rgb(
    client: Client, alice: User, music_root: Path
) -> None:
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (255, 0, 0, 0)).save(out, format="PNG")
    transparent = with_cover(music_root, out.getvalue(), "t.flac")
    out = io.BytesIO()
    Image.new("CMYK", (50, 50), (0, 255, 255, 0)).save(out, format="JPEG")
    cmyk = with_cover(music_root, out.getvalue(), "c.flac")
    client.force_login(alice)
    image = Image.open(io.BytesIO(client.get(cover_url(transparent, 64)).content))
    assert image.getpixel((25, 25)) == pytest.approx((255, 255, 255), abs=3)  # on white
    assert Image.open(io.BytesIO(client.get(cover_url(cmyk, 64)).content)).mode == "RGB"


def test_a_cover_is_cut_once_then_served_from_the_cache(
    client: Client, alice: User, music_root: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = with_cover(music_root, png_bytes(400, 400))
    client.force_login(alice)
    first = client.get(cover_url(key, 160))
    cached = Path(settings.COVER_CACHE_DIR) / f"{key}-160.jpg"
    assert cached.read_bytes() == first.content
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary file left

    def no_reading(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the FLAC file was opened")

    monkeypatch.setattr(library, "FLAC", no_reading)
    second = client.get(cover_url(key, 160))
    assert second.status_code == 200
    assert second.content == first.content

    not_modified = client.get(cover_url(key, 160), headers={"If-None-Match": f'"{key}-160"'})
    assert not_modified.status_code == 304


def test_a_cover_is_gone_with_its_files(
    client: Client, alice: User, music_root: Path, settings: Any
) -> None:
    key = with_cover(music_root, png_bytes(40, 40))
    flac_write(music_root / "b.flac", seconds=0.2, seed=1)
    client.force_login(alice)
    assert client.get(cover_url(key, 64)).status_code == 200
    (music_root / "a.flac").unlink()
    assert library_scan().removed == 1
    assert client.get(cover_url(key, 64)).status_code == 404  # even though it is cached


def test_covers_need_sign_in(client: Client, music_root: Path) -> None:
    key = with_cover(music_root, png_bytes(40, 40))
    response = client.get(cover_url(key))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_the_four_sizes_and_only_get(client: Client, alice: User, music_root: Path) -> None:
    key = with_cover(music_root, png_bytes(40, 40))
    client.force_login(alice)
    assert client.get(cover_url(key, 100)).status_code == 404
    assert client.get(cover_url(key, 6000)).status_code == 404
    assert client.post(cover_url(key, 64)).status_code == 405


def test_unknown_and_malformed_keys_are_404(client: Client, alice: User, music_root: Path) -> None:
    with_cover(music_root, png_bytes(40, 40))
    client.force_login(alice)
    assert client.get(cover_url("0" * 40)).status_code == 404
    assert client.get(cover_url("..")).status_code == 404
    assert client.get(cover_url("A" * 40)).status_code == 404


@pytest.mark.parametrize(
    "picture",
    [
        pytest.param(b"not an image at all", id="not-an-image"),
        pytest.param(png_bytes(300, 300)[:200], id="truncated"),
        pytest.param(png_claiming(60_000, 60_000), id="decompression-bomb"),
        pytest.param(png_claiming(7_000, 7_000), id="over-the-pixel-cap"),
        pytest.param(b"GIF89a" + b"\xff" * 50, id="broken-gif"),
    ],
)
def test_hostile_pictures_are_404_never_500(
    client: Client,
    alice: User,
    music_root: Path,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    picture: bytes,
) -> None:
    key = with_cover(music_root, picture)
    client.force_login(alice)
    with caplog.at_level(logging.WARNING, logger="playback.library"):
        assert client.get(cover_url(key, 300)).status_code == 404
    assert "cover image refused" in caplog.text
    assert not Path(settings.COVER_CACHE_DIR).exists() or not any(
        Path(settings.COVER_CACHE_DIR).iterdir()
    )


def test_a_file_that_now_leads_outside_music_root_is_not_read(
    client: Client, alice: User, music_root: Path, tmp_path: Path
) -> None:
    cover = png_bytes(40, 40)
    key = with_cover(music_root, cover)
    outside = tmp_path / "outside.flac"
    (music_root / "a.flac").rename(outside)
    (music_root / "a.flac").symlink_to(outside)  # swapped in after the scan
    client.force_login(alice)
    assert client.get(cover_url(key, 64)).status_code == 404
