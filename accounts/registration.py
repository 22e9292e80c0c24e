"""Who may sign up (settings.REGISTRATION: open, invite or closed) and invites to do so."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from scrobbler.models import INVITE_DAYS, Invite, User

Mode = Literal["open", "invite", "closed"]
OPEN: Mode = "open"
INVITE: Mode = "invite"
CLOSED: Mode = "closed"

INVITE_MAX_DAYS = 365
# 24 random bytes: 32 URL-safe characters, far beyond guessing by anyone who can reach the form.
CODE_BYTES = 24

INVITE_UNKNOWN = "This invite code is not valid. Check it, or ask for a new invite."
INVITE_USED = "This invite has already been used. Ask for a new one."
INVITE_EXPIRED = "This invite has expired. Ask for a new one."
INVITE_MISSING = "Sign-up on this server needs an invite code."


class SignupRefused(Exception):
    """No account was created; the message is for the person signing up."""


class RegistrationClosed(SignupRefused):
    """REGISTRATION=closed: nobody may sign up."""


class InviteRefused(SignupRefused):
    """The invite code is missing, unknown, used or expired."""


@dataclass(frozen=True)
class NewInvite:
    """An invite just made, with the only copy of its code (the database keeps its hash)."""

    invite: Invite
    code: str

    @property
    def signup_path(self) -> str:
        return invite_signup_path(code=self.code)


def registration_mode() -> Mode:
    # settings.py has already refused any other value at start-up.
    return cast(Mode, settings.REGISTRATION)


def signup_context(request: HttpRequest) -> dict[str, object]:
    """Template context processor: hide "Sign up" links when nobody may sign up."""
    return {"signup_open": registration_mode() != CLOSED}


def invite_code_hash(code: str) -> str:
    # The code is random and long, so a fast unsalted hash is safe (as for API tokens) and lets
    # redemption find the invite by an indexed lookup; a slow password hash would not.
    return hashlib.sha256(code.strip().encode()).hexdigest()


def invite_signup_path(*, code: str) -> str:
    """The sign-up page with the code filled in: the link to send to the person invited."""
    return f"{reverse('signup')}?{urlencode({'invite': code})}"


def invite_create(*, created_by: User | None, note: str = "", days: int = INVITE_DAYS) -> NewInvite:
    """Make an invite valid for `days` days; the returned code is never stored or shown again."""
    if not 1 <= days <= INVITE_MAX_DAYS:
        raise ValueError(f"an invite lasts 1 to {INVITE_MAX_DAYS} days, not {days}")
    code = secrets.token_urlsafe(CODE_BYTES)
    invite = Invite.objects.create(
        code_hash=invite_code_hash(code),
        note=note,
        created_by=created_by,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return NewInvite(invite=invite, code=code)


def invite_refusal(*, code: str, now: datetime | None = None) -> str | None:
    """Why `code` cannot be redeemed now (a message for the user), or None if it can."""
    now = now or timezone.now()
    if not code.strip():
        return INVITE_MISSING
    invite = Invite.objects.filter(code_hash=invite_code_hash(code)).first()
    if invite is None:
        return INVITE_UNKNOWN
    status = invite.status_at(now)
    if status == Invite.Status.USED:
        return INVITE_USED
    if status == Invite.Status.EXPIRED:
        return INVITE_EXPIRED
    return None


def invite_redeem(*, code: str, user: User, now: datetime | None = None) -> Invite:
    """Spend the invite on `user`, or raise InviteRefused; each invite is spent exactly once.

    Call it in the transaction that creates `user` (account_signup does), so a refusal undoes
    the account too.
    """
    now = now or timezone.now()
    code_hash = invite_code_hash(code)
    # One conditional UPDATE is the claim: of concurrent redemptions the database lets exactly
    # one match the unused row (PostgreSQL re-checks the WHERE after waiting for the row lock;
    # SQLite runs writers one at a time), and the count tells each caller whether it won.
    won = (
        Invite.objects.redeemable(now=now)
        .filter(code_hash=code_hash)
        .update(used_at=now, used_by=user)
    )
    if won != 1:
        raise InviteRefused(invite_refusal(code=code, now=now) or INVITE_USED)
    return Invite.objects.get(code_hash=code_hash)


@transaction.atomic
def account_signup(
    *, username: str, email: str, password: str, invite_code: str = "", time_zone: str = "UTC"
) -> User:
    """Create an account as REGISTRATION allows, or raise SignupRefused and store nothing.

    The caller has validated the fields (SignUpForm); with REGISTRATION=invite the account and
    the invite's redemption are one transaction, so an invite makes exactly one account.
    """
    mode = registration_mode()
    if mode == CLOSED:
        raise RegistrationClosed("Registration on this server is closed.")
    if mode == INVITE and not invite_code.strip():
        raise InviteRefused(INVITE_MISSING)
    user = User.objects.create_user(
        username=username, email=email, password=password, time_zone=time_zone
    )
    if mode == INVITE:
        invite_redeem(code=invite_code, user=user)
    return user


def invite_revoke(*, invites: QuerySet[Invite], now: datetime | None = None) -> int:
    """Expire the unused ones of `invites` now (a link sent to the wrong person); the count."""
    now = now or timezone.now()
    return (
        Invite.objects.redeemable(now=now)
        .filter(pk__in=invites.values("pk"))
        .update(expires_at=now)
    )
