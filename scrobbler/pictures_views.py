"""Stored album and artist pictures (thin: the work is in scrobbler.pictures)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_GET

from scrobbler import pictures

# The key is a content hash: a picture under a URL never changes.
PICTURE_CACHE_CONTROL = "public, max-age=31536000, immutable"


@require_GET
@login_required
def picture(request: HttpRequest, key: str, size: int) -> HttpResponse:
    """A stored picture as a JPEG of at most `size` pixels square (64 or 300)."""
    jpeg = pictures.picture_jpeg(key=key, size=size)
    if jpeg is None:
        raise Http404("No such picture")
    etag = f'"{key}-{size}"'
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        jpeg, content_type="image/jpeg"
    )
    response["ETag"] = etag
    response["Cache-Control"] = PICTURE_CACHE_CONTROL
    return response
