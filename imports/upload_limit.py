"""Who may send the export upload's large body (IMPORT_MAX_UPLOAD_MB), decided before any of it
is read: ops.body_limit asks `upload_allowance` (wired in config/asgi.py) about every request
whose body might be over the default limit. Only a POST to the upload page from a signed-in
user within the upload rate limit gets it; the rate limit is only looked at here (the view
counts the attempt), and past it the answer is 429 straight away. `is_upload` also names the
requests whose body Django reads from the connection rather than from a copy
(ops/streamed_body.py)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest
from django.urls import reverse

from ops.asgi_session import Scope, session_user
from ops.body_limit import Refusal
from ops.ratelimits import limited_next
from scrobbler.models import User


async def upload_allowance(scope: Scope) -> int | Refusal | None:
    """IMPORT_MAX_UPLOAD_MB in bytes for an upload that may be sent, a 429 for one past the rate
    limit, None (the default limit) for everything else."""
    if not is_upload(scope):
        return None
    return await sync_to_async(_upload_allowance, thread_sensitive=False)(scope)


def is_upload(scope: Scope) -> bool:
    """Whether an HTTP request is an upload of exports (a POST to the upload page)."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return scope.get("method") == "POST" and path == reverse("imports")


def _upload_allowance(scope: Scope) -> int | Refusal | None:
    try:
        return _allowance(scope)
    finally:
        close_old_connections()  # as Django does after a request: this thread is not one of its


def _allowance(scope: Scope) -> int | Refusal | None:
    user = session_user(scope)
    if not isinstance(user, User):
        return None
    request = HttpRequest()
    request.method = "POST"
    request.user = user
    retry_after = limited_next(
        request, group="import-upload", key="user", rate=settings.IMPORT_UPLOAD_RATE
    )
    if retry_after:
        message = b"Too many uploads in a short time. Wait a little, then upload again.\n"
        return Refusal(429, message, [(b"retry-after", str(retry_after).encode())])
    return settings.IMPORT_MAX_UPLOAD_MB * 2**20
