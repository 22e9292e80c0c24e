from __future__ import annotations

from django.http import HttpRequest

THEMES = ("auto", "light", "dark")
THEME_COOKIE = "theme"


def current_theme(request: HttpRequest) -> str:
    theme = request.COOKIES.get(THEME_COOKIE, "auto")
    return theme if theme in THEMES else "auto"


def theme(request: HttpRequest) -> dict[str, object]:
    return {"theme": current_theme(request), "themes": THEMES}
