"""Linking, unlinking and keeping a valid access token for a user's Spotify account."""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from scrobbler.models import SpotifyAccount, SpotifyWaitlistEntry, User
from scrobbler.spotify import crypto, oauth
from scrobbler.spotify.client import AccessTokenExpired, call_spotify
from scrobbler.spotify.errors import SpotifyAuthError, SpotifyError

log = logging.getLogger(__name__)

SESSION_KEY = "spotify_pending_authorization"
REFRESH_MARGIN = timedelta(seconds=60)
EXPIRY_WARNING = timedelta(days=14)

T = TypeVar("T")


class LinkRefused(Exception):
    """The link did not happen; the message is for the user."""


class LinkWaitlisted(LinkRefused):
    """Every slot is taken: the user is on the waitlist."""


def spotify_link_begin(*, session: MutableMapping[str, object], redirect_uri: str) -> str:
    """Start linking: remember a pending authorization in the session, return Spotify's URL."""
    url, pending = oauth.begin(redirect_uri=redirect_uri)
    session[SESSION_KEY] = pending.as_session()
    return url


def spotify_link_complete(
    *,
    user: User,
    session: MutableMapping[str, object],
    state: str,
    code: str,
    error: str,
) -> SpotifyAccount:
    """Finish linking from Spotify's callback; anything amiss stores nothing: LinkRefused."""
    # Single use: whatever happens next, this pending authorization is spent.
    pending = oauth.PendingAuthorization.from_session(session.pop(SESSION_KEY, None))
    if not oauth.state_matches(state, pending):
        raise LinkRefused(
            "That Spotify sign-in did not start here, or it expired. Please try again."
        )
    assert pending is not None
    if error:
        raise LinkRefused(
            "Spotify access was not granted."
            if error == "access_denied"
            else f"Spotify refused ({error[:60]})."
        )
    if not code:
        raise LinkRefused("Spotify sent no authorization code. Please try again.")
    if not spotify_link_allowed(user=user):
        spotify_waitlist_join(user=user)
        raise LinkWaitlisted("Every Spotify slot on this server is taken.")
    now = timezone.now()
    try:
        grant = oauth.exchange_code(code=code, pending=pending, now=now)
        profile = call_spotify(grant.access_token, lambda client: client.me())
    except SpotifyError as exc:
        log.warning("spotify link failed for user %s: %s", user.pk, exc)
        raise LinkRefused("Spotify did not complete the sign-in. Please try again.") from exc
    if not grant.refresh_token:
        raise LinkRefused("Spotify sent no refresh token. Please try again.")
    return _store_link(user=user, grant=grant, profile=profile, now=now)


def _store_link(
    *, user: User, grant: oauth.TokenGrant, profile: dict[str, object], now: datetime
) -> SpotifyAccount:
    spotify_user_id = str(profile.get("id") or "")
    if not spotify_user_id:
        raise LinkRefused("Spotify did not say which account this is. Please try again.")
    other = SpotifyAccount.objects.filter(spotify_user_id=spotify_user_id).exclude(user=user)
    if other.exists():
        raise LinkRefused("That Spotify account is already linked to another Encore user.")
    fields = {
        "spotify_user_id": spotify_user_id,
        "display_name": str(profile.get("display_name") or "")[:200],
        "access_token_encrypted": crypto.encrypt(grant.access_token),
        "refresh_token_encrypted": crypto.encrypt(grant.refresh_token or ""),
        "access_token_expires_at": grant.expires_at,
        "scope": grant.scope[:500],
        "consented_at": now,
        "status": SpotifyAccount.Status.ACTIVE,
        "status_detail": "",
    }
    existing = SpotifyAccount.objects.filter(user=user).first()
    if existing is not None:  # re-linking keeps the slot
        SpotifyAccount.objects.filter(pk=existing.pk).update(**fields)
        existing.refresh_from_db()
        return existing
    for slot in [None] if _admitted(user) else _free_slots():
        try:
            with transaction.atomic():
                account = SpotifyAccount.objects.create(user=user, slot=slot, **fields)
        except IntegrityError:
            # Another link took this slot (or this Spotify account) a moment ago: try the next.
            if SpotifyAccount.objects.filter(spotify_user_id=spotify_user_id).exists():
                raise LinkRefused(
                    "That Spotify account is already linked to another Encore user."
                ) from None
            continue
        SpotifyWaitlistEntry.objects.filter(user=user).delete()
        return account
    spotify_waitlist_join(user=user)
    raise LinkWaitlisted("Every Spotify slot on this server is taken.")


def _free_slots() -> list[int]:
    taken = set(SpotifyAccount.objects.filter(slot__isnull=False).values_list("slot", flat=True))
    return [slot for slot in range(1, settings.SPOTIFY_LINK_CAP + 1) if slot not in taken]


def _admitted(user: User) -> bool:
    """An admin let this user link past the cap."""
    return SpotifyWaitlistEntry.objects.filter(user=user, admitted_at__isnull=False).exists()


def spotify_link_allowed(*, user: User) -> bool:
    """Whether linking could succeed now: already linked, admitted, or a slot is free."""
    if SpotifyAccount.objects.filter(user=user).exists():
        return True
    return _admitted(user) or bool(_free_slots())


def spotify_waitlist_join(*, user: User) -> SpotifyWaitlistEntry:
    entry, _ = SpotifyWaitlistEntry.objects.get_or_create(user=user)
    return entry


def spotify_unlink(*, user: User) -> bool:
    """Delete the link and its tokens; the user's listening history stays."""
    deleted, _ = SpotifyAccount.objects.filter(user=user).delete()
    return deleted > 0


def spotify_waitlist_admit(*, entries: list[SpotifyWaitlistEntry]) -> int:
    return SpotifyWaitlistEntry.objects.filter(
        pk__in=[entry.pk for entry in entries], admitted_at__isnull=True
    ).update(admitted_at=timezone.now())


def refresh_token_expires_at(account: SpotifyAccount) -> datetime:
    return account.consented_at + oauth.REFRESH_TOKEN_LIFETIME


def refresh_token_expires_soon(account: SpotifyAccount, *, now: datetime | None = None) -> bool:
    return refresh_token_expires_at(account) - (now or timezone.now()) < EXPIRY_WARNING


def spotify_access_token(
    *, account_id: int, rejected: str | None = None, known: SpotifyAccount | None = None
) -> str:
    """A valid access token, refreshed first if it expires within a minute or was `rejected`.

    `known` is the account as the caller just read it: when its token is fresh, no query is made.
    Otherwise the row is locked while refreshing, so however many workers ask at once, each
    expiry causes exactly one refresh and every worker gets the new token.
    """
    if (
        known is not None
        and rejected is None
        and known.status == SpotifyAccount.Status.ACTIVE
        and known.access_token_expires_at > timezone.now() + REFRESH_MARGIN
    ):
        return crypto.decrypt(known.access_token_encrypted)
    failure: SpotifyAuthError | None = None
    with transaction.atomic():
        account = SpotifyAccount.objects.select_for_update().get(pk=account_id)
        if account.status != SpotifyAccount.Status.ACTIVE:
            raise SpotifyAuthError("the Spotify link needs re-linking")
        token = crypto.decrypt(account.access_token_encrypted)
        fresh = account.access_token_expires_at > timezone.now() + REFRESH_MARGIN
        if fresh and token != rejected:
            return token
        try:
            grant = oauth.refresh(
                refresh_token=crypto.decrypt(account.refresh_token_encrypted), now=timezone.now()
            )
        except SpotifyAuthError as exc:
            failure = exc
        else:
            account.access_token_encrypted = crypto.encrypt(grant.access_token)
            account.access_token_expires_at = grant.expires_at
            update = ["access_token_encrypted", "access_token_expires_at"]
            if grant.refresh_token:  # rotated; otherwise Spotify keeps the old one valid
                account.refresh_token_encrypted = crypto.encrypt(grant.refresh_token)
                update.append("refresh_token_encrypted")
            if grant.scope:
                account.scope = grant.scope[:500]
                update.append("scope")
            account.save(update_fields=update)
            return grant.access_token
    spotify_account_needs_relink(account_id=account_id, reason=str(failure))
    raise failure


def spotify_account_needs_relink(*, account_id: int, reason: str) -> None:
    """Stop using this link until the user links again; nothing else is affected."""
    SpotifyAccount.objects.filter(pk=account_id).update(
        status=SpotifyAccount.Status.NEEDS_RELINK, status_detail=reason[:300]
    )
    log.info("spotify account %s needs re-linking: %s", account_id, reason)


def spotify_call(
    *, account_id: int, request: Callable[..., T], known: SpotifyAccount | None = None
) -> T:
    """One Web API request for an account, refreshing the access token once on a 401."""
    token = spotify_access_token(account_id=account_id, known=known)
    try:
        return call_spotify(token, request)
    except AccessTokenExpired:
        token = spotify_access_token(account_id=account_id, rejected=token)
        try:
            return call_spotify(token, request)
        except AccessTokenExpired as exc:
            spotify_account_needs_relink(account_id=account_id, reason="access token refused twice")
            raise SpotifyAuthError("Spotify refuses fresh access tokens") from exc
