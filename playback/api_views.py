"""The playback JSON API the player uses: devices, the session and its controls, media tokens.

Every route needs a signed-in user and works on that user's own devices and session only; POSTs
are CSRF-protected like any form (the player sends the token in `X-CSRFToken`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import is_ratelimited

from ops.ratelimits import limited, too_many_requests
from playback import queue, sessions
from playback.media_app import media_url
from playback.models import PlaybackSession
from playback.sessions import Control, PlaybackError
from playback.snapshot import session_snapshot as snapshot_of
from playback.tokens import media_token
from scrobbler.http import signed_in_user


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise PlaybackError("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise PlaybackError("The request body must be a JSON object.")
    return body


def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlaybackError(f"'{name}' must be a whole number.")
    return value


@require_POST
@login_required
def devices(request: HttpRequest) -> JsonResponse:
    """Register this browser as a device, or say it is still here: `{"id", "name", "platform"}`."""
    try:
        body = _body(request)
        device = sessions.device_register(
            user_id=signed_in_user(request).pk,
            client_id=str(body.get("id", "")),
            name=str(body.get("name", "")),
            platform=str(body.get("platform", "")),
        )
    except PlaybackError as exc:
        return _error(str(exc), 400)
    return JsonResponse({"id": device.client_id, "name": device.name})


@require_GET
@login_required
def session_snapshot(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(snapshot_of(user_id=signed_in_user(request).pk))
    response["Cache-Control"] = "no-store"
    return response


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    return None if body.get(name) is None else _int(body, name)


def _ints(body: dict[str, Any], name: str) -> list[int]:
    values = body.get(name)
    if not isinstance(values, list) or len(values) > queue.MAX_QUEUE:
        raise PlaybackError(f"'{name}' must be a list of ids.")
    return [_int({name: value}, name) for value in values]


def _bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise PlaybackError(f"'{name}' must be true or false.")
    return value


def _track_ids(control: Control, body: dict[str, Any]) -> list[int]:
    """The tracks a play or queue request names: `track`, `tracks`, or an `album`, `artist`
    or `playlist` of the library."""
    if "tracks" in body:
        return _ints(body, "tracks")
    if "track" in body:
        return [_int(body, "track")]
    for kind in ("album", "artist", "playlist"):
        if kind in body:
            return queue.library_tracks(
                user_id=control.user_id, kind=kind, item_id=_int(body, kind)
            )
    raise PlaybackError("Say what to play: 'track', 'tracks', 'album', 'artist' or 'playlist'.")


Apply = Callable[[Control, dict[str, Any]], PlaybackSession]
CONTROLS: dict[str, Apply] = {
    "play": lambda c, body: queue.queue_play(
        c, track_ids=_track_ids(c, body), start=_int(body, "start", 0)
    ),
    "resume": lambda c, body: sessions.playback_resume(c),
    "pause": lambda c, body: sessions.playback_pause(c),
    "toggle": lambda c, body: sessions.playback_toggle(c),
    "seek": lambda c, body: sessions.playback_seek(c, position_ms=_int(body, "position_ms")),
    "next": lambda c, body: queue.playback_next(c),
    "previous": lambda c, body: queue.playback_previous(c),
    "stop": lambda c, body: sessions.playback_stop(c),
    "ended": lambda c, body: queue.playback_ended(c, item_id=_optional_int(body, "item")),
    "speaker": lambda c, body: sessions.speaker_choose(c),
    "shuffle": lambda c, body: queue.shuffle_set(c, on=_bool(body, "on")),
    "repeat": lambda c, body: queue.repeat_set(c, mode=str(body.get("mode"))),
    "like": lambda c, body: queue.like_set(c, track_id=_int(body, "track"), liked=True),
    "unlike": lambda c, body: queue.like_set(c, track_id=_int(body, "track"), liked=False),
    "queue-add": lambda c, body: queue.queue_add(
        c, track_ids=_track_ids(c, body), play_next=bool(body.get("next", False))
    ),
    "queue-move": lambda c, body: queue.queue_move(
        c, item_id=_int(body, "item"), after=_optional_int(body, "after")
    ),
    "queue-remove": lambda c, body: queue.queue_remove(c, item_ids=_ints(body, "items")),
    "queue-clear": lambda c, body: queue.queue_clear(c),
}


@require_POST
@login_required
def session_control(request: HttpRequest, action: str) -> HttpResponse:
    """One control from one of the user's devices: `{"device": id, "event_id": id, ...}`;
    answers the snapshot. A retry with the same event id changes nothing more."""
    apply = CONTROLS.get(action)
    if apply is None:
        return _error(f"Unknown control {action!r}.", 404)
    retry_after = limited(
        request, group="playback-control", key="user", rate=settings.PLAYBACK_CONTROL_RATE
    )
    if retry_after:
        message = "Too many playback controls: wait a moment."
        return too_many_requests(request, message=message, retry_after=retry_after)
    user_id = signed_in_user(request).pk
    try:
        body = _body(request)
        device = sessions.user_device(user_id=user_id, client_id=body.get("device"))
        event_id = str(body.get("event_id") or "")
        apply(Control(user_id=user_id, device=device, now=timezone.now(), event_id=event_id), body)
    except PlaybackError as exc:
        return _error(str(exc), 400)
    except sessions.AlreadyApplied:
        pass  # the first request did it: answer as it would have
    return JsonResponse(snapshot_of(user_id=user_id))


@require_POST
@login_required
def media_token_mint(request: HttpRequest) -> JsonResponse:
    """A media URL for the active speaker: `{"device": id, "track": id}`. Only the device that
    is the session's speaker gets one; minting is rate-limited per user."""
    if is_ratelimited(
        request, group="media-token", key="user", rate=settings.MEDIA_TOKEN_RATE, increment=True
    ):
        return _error("Too many media requests: wait a moment.", 429)
    try:
        body = _body(request)
        device = sessions.user_device(
            user_id=signed_in_user(request).pk, client_id=body.get("device")
        )
        track_id = _int(body, "track")
    except PlaybackError as exc:
        return _error(str(exc), 400)
    session = sessions.session_get(user_id=signed_in_user(request).pk)
    if session.active_device_id != device.pk:
        return _error("Only the active speaker can fetch audio.", 403)
    if not sessions.playable(track_id):
        return _error("That track is not in the library.", 404)
    url = media_url(track_id, media_token(session, track_id))
    return JsonResponse({"url": url, "expires_in": settings.MEDIA_TOKEN_SECONDS})
