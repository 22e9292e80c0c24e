"""Generated pictures for the catalog's ``images`` (Spotify's image CDN in the simulator): a
JPEG per kind, id and size, the same in every process, so the demo and tests have art. Public,
like the CDN: no token needed."""

from __future__ import annotations

import colorsys
import io
from functools import lru_cache

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from PIL import Image, ImageDraw

from spotify_sim.catalog import IMAGE_KINDS, IMAGE_SIZES, is_spotify_id, stable_unit


@lru_cache(maxsize=256)
def generated_jpeg(kind: str, ident: str, size: int) -> bytes:
    """A coloured square with a shape: a disc for artists, a diamond for albums, a bar otherwise."""
    hue = stable_unit("image-hue", kind, ident)
    shade = 0.35 + 0.3 * stable_unit("image-shade", kind, ident)
    background = tuple(round(255 * c) for c in colorsys.hls_to_rgb(hue, shade, 0.55))
    accent = tuple(round(255 * c) for c in colorsys.hls_to_rgb((hue + 0.5) % 1, 0.8, 0.6))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    a, b, c = size // 5, size // 2, size - size // 5
    if kind == "artist":
        draw.ellipse((a, a, c, c), fill=accent)
    elif kind == "album":
        draw.polygon([(b, a), (c, b), (b, c), (a, b)], fill=accent)
    else:
        draw.rectangle((a, b - size // 10, c, b + size // 10), fill=accent)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


@require_GET
def image(request: HttpRequest, kind: str, ident: str, size: int) -> HttpResponse:
    if kind not in IMAGE_KINDS or size not in IMAGE_SIZES or not is_spotify_id(ident):
        raise Http404("No such image")
    response = HttpResponse(generated_jpeg(kind, ident, size), content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=31536000"
    return response
