"""The signed-in user of a request, typed as Encore's own User."""

from __future__ import annotations

from django.http import HttpRequest

from scrobbler.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The user of a view behind login_required (typed, for the services it calls)."""
    assert isinstance(request.user, User)
    return request.user
