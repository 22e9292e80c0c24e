"""Staff-only pages outside the admin: who may open them, and what everyone else sees."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = TypeVar("View", bound=Callable[..., HttpResponse])


def staff_required(view: View) -> View:
    """`view` for active staff. Anonymous visitors go to the site's sign-in (they may be staff);
    a signed-in user who is not staff gets the 403 page: sending them to the admin's sign-in, as
    Django's staff_member_required does, would only ask them to sign in again."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked  # type: ignore[return-value]
