"""Placeholder: being written."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def _todo(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise NotImplementedError


track_media = library = cover = devices = session_snapshot = session_control = _todo
media_token_mint = _todo
