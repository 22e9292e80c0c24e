"""`{% picture entity "thumb" %}`: an album's or artist's picture, or a placeholder tile.

Pictures are only ever Encore's own URLs (scrobbler.pictures' stored copies, or the library's
embedded covers), never image_url itself: the browser must not ask a third party. Uses only
fields already loaded on the entity (and a track's select_related album): no query per row."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from scrobbler.models import Album, Artist, Track
from scrobbler.pictures import picture_url

register = template.Library()

# name: (stored size, shown size in CSS pixels): the stored one is bigger, for dense screens.
LOOKS = {"thumb": (64, 40), "large": (300, 160)}
# Library albums' image_url is their embedded cover (playback.library), cut in these sizes too.
LIBRARY_COVER = re.compile(r"/library/covers/([0-9a-f]{40})/\d+/")
PLACEHOLDER_TINTS = 4


def picture_src(entity: Album | Artist, size: int) -> str:
    """Encore's URL of the entity's picture at `size`; "" if there is none yet."""
    if entity.picture_key:
        return picture_url(entity.picture_key, size)
    cover = LIBRARY_COVER.fullmatch(entity.image_url)
    return reverse("library-cover", args=[cover[1], size]) if cover else ""


@register.simple_tag
def picture(entity: Any, look: str = "thumb", alt: str = "") -> SafeString:
    """The picture of an album or artist (a track: its album's), `look` "thumb" or "large".
    `alt` stays "" where the name is written beside it (the picture is then decorative)."""
    stored, shown = LOOKS[look]
    named = entity
    if isinstance(entity, Track):
        entity = entity.album
    kind = "artist" if isinstance(entity, Artist) else "album"
    classes = f"pic pic-{look} pic-{kind}"
    src = picture_src(entity, stored) if isinstance(entity, Album | Artist) else ""
    if src:
        return format_html(
            '<img class="{}" src="{}" width="{}" height="{}" alt="{}" loading="lazy" '
            'decoding="async">',
            classes,
            src,
            shown,
            shown,
            alt,
        )
    name = str(getattr(entity or named, "name", "") or "?")
    tint = (getattr(entity or named, "pk", 0) or 0) % PLACEHOLDER_TINTS + 1
    return format_html(
        '<span class="{} pic-none pic-tint-{}" aria-hidden="true">{}</span>',
        classes,
        tint,
        name.strip()[:1].upper() or "?",
    )
