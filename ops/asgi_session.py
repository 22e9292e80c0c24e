"""The signed-in user named by the session cookie of an ASGI scope, for code that runs in front
of Django's middleware (config/asgi.py) and so has no `request.user`."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.http.cookie import parse_cookie

Scope = dict[str, object]


def session_user(scope: Scope) -> AbstractBaseUser | None:
    """The active user signed in with the scope's session cookie, or None. Django's own checks
    (`django.contrib.auth.get_user`: the session exists and is unexpired, its backend is enabled,
    its password hash still matches, the backend's `get_user` finds an active user). Blocking:
    call it on a thread."""
    headers = scope.get("headers") or []
    cookie = b"; ".join(value for name, value in headers if name.lower() == b"cookie")  # type: ignore[attr-defined]
    session_key = parse_cookie(cookie.decode("latin-1")).get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(request)
    if not user.is_authenticated or not user.is_active:
        return None
    assert isinstance(user, AbstractBaseUser)
    return user
