"""The simulator's state, in memory and per process: clock, accounts, OAuth, faults, request logs.

Every public method of ``Simulator`` takes one lock, so the state is safe to share between the
threads of a server. Nothing here touches Django or the network.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from spotify_sim.catalog import Playlist
from spotify_sim.clock import Clock, ClockMode
from spotify_sim.faults import FaultRule
from spotify_sim.history import HistoryOptions
from spotify_sim.listener import Listener
from spotify_sim.profiles import Profile, resolve_profile
from spotify_sim.tokens import (
    ALL_SCOPES,
    AccessToken,
    AuthCode,
    Client,
    OAuthError,
    RefreshToken,
    TokenGrant,
    s256,
)

ACCOUNT_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
CODE_LIFETIME_MS = 10 * 60_000
DEFAULT_HISTORY_S = 3 * 3_600  # a new account has listened for three hours already
REQUEST_LOG_SIZE = 10_000


@dataclass(frozen=True)
class AccountOptions:
    """Per-account behaviour of the accounts service and of recently-played."""

    token_ttl_s: int = 3_600
    rotate_refresh_tokens: bool = False  # each refresh issues a new refresh token, revoking the old
    omit_refresh_token: bool = False  # refresh responses carry no refresh_token (keep the old one)
    refresh_token_lifetime_s: int = 183 * 86_400  # six months after consent
    product: str = "premium"
    country: str = "SE"
    history: HistoryOptions = field(default_factory=HistoryOptions)

    def with_overrides(self, overrides: Mapping[str, Any]) -> AccountOptions:
        """A copy with some fields changed (``history`` merges); unknown fields raise ValueError."""
        values = dict(overrides)
        unknown = set(values) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown account options: {', '.join(sorted(unknown))}")
        if "history" in values:
            values["history"] = self.history.with_overrides(dict(values["history"]))
        return replace(self, **values)

    def to_json(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "history"}
        body["history"] = {f.name: getattr(self.history, f.name) for f in fields(self.history)}
        return body


@dataclass(frozen=True, slots=True)
class RequestRecord:
    at_ms: int  # simulator clock
    wall_ms: int  # real time, to measure real waits
    method: str
    endpoint: str
    query: str
    status: int
    fault_id: int | None


@dataclass
class Account:
    id: str
    display_name: str
    email: str
    seed: str
    profile: Profile
    start_ms: int
    options: AccountOptions
    listener: Listener
    refresh_count: int = 0  # successful refresh_token grants
    refresh_failures: int = 0
    tokens_issued: int = 0
    requests: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))


@dataclass(frozen=True)
class AuthResult:
    """Who a bearer token belongs to (even when expired, for logs and faults) and its error."""

    account: Account | None
    token: AccessToken | None
    error: str | None


class Simulator:
    """All simulated accounts and services of one process."""

    def __init__(self, clock_mode: ClockMode = "real") -> None:
        self._lock = threading.RLock()
        self.default_clock_mode: ClockMode = clock_mode
        self.reset()

    def reset(self, clock_mode: ClockMode | None = None) -> None:
        """Forget everything; the clock goes back to ``clock_mode`` (default: the process's)."""
        with self._lock:
            self.clock = Clock(clock_mode or self.default_clock_mode)
            self._accounts: dict[str, Account] = {}
            self._playlists: dict[str, tuple[str, Playlist]] = {}
            self._clients: dict[str, Client] = {}
            self._codes: dict[str, AuthCode] = {}
            self._access: dict[str, AccessToken] = {}
            self._refresh: dict[str, RefreshToken] = {}
            self._faults: list[FaultRule] = []
            self._fault_ids = 0

    def now_ms(self) -> int:
        with self._lock:
            return self.clock.now_ms()

    # --- accounts ------------------------------------------------------------------------------

    def account(self, account_id: str) -> Account:
        """The account, created with defaults on first use (its listener seeded by its id)."""
        with self._lock:
            found = self._accounts.get(account_id)
            return found if found is not None else self.configure_account(account_id, {})

    def find_account(self, account_id: str) -> Account | None:
        with self._lock:
            return self._accounts.get(account_id)

    def account_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._accounts)

    def configure_account(self, account_id: str, spec: Mapping[str, Any]) -> Account:
        """Create or update an account. ``spec`` keys: display_name, email, seed, profile (name or
        ``{"base": name, field: value}``), start (epoch ms), options (see ``AccountOptions``).
        A new seed, profile or start regenerates the listener. Raises ValueError on bad input."""
        if not ACCOUNT_ID_RE.fullmatch(account_id):
            raise ValueError("account ids are 1-64 letters, digits, '_', '.' or '-'")
        unknown = set(spec) - {"display_name", "email", "seed", "profile", "start", "options"}
        if unknown:
            raise ValueError(f"unknown account fields: {', '.join(sorted(unknown))}")
        with self._lock:
            old = self._accounts.get(account_id)
            seed = str(spec.get("seed", old.seed if old else account_id))
            profile = resolve_profile(spec["profile"]) if "profile" in spec else None
            profile = profile or (old.profile if old else resolve_profile("mixed"))
            start = spec.get("start")
            start_ms = int(start) if start is not None else None
            if start_ms is None:
                start_ms = old.start_ms if old else self.clock.now_ms() - DEFAULT_HISTORY_S * 1000
            options = old.options if old else AccountOptions()
            options = options.with_overrides(dict(spec.get("options", {})))
            same_listener = old is not None and (old.seed, old.profile, old.start_ms) == (
                seed,
                profile,
                start_ms,
            )
            listener = (
                old.listener
                if old is not None and same_listener
                else Listener(seed, profile, start_ms, owner_id=account_id)
            )
            account = Account(
                id=account_id,
                display_name=str(spec.get("display_name", old.display_name if old else account_id)),
                email=str(spec.get("email", old.email if old else f"{account_id}@example.com")),
                seed=seed,
                profile=profile,
                start_ms=start_ms,
                options=options,
                listener=listener,
            )
            if old is not None:
                account.refresh_count = old.refresh_count
                account.refresh_failures = old.refresh_failures
                account.tokens_issued = old.tokens_issued
                account.requests = old.requests
            self._accounts[account_id] = account
            self._playlists = {
                key: value for key, value in self._playlists.items() if value[0] != account_id
            }
            for playlist in listener.playlists:
                self._playlists[playlist.id] = (account_id, playlist)
            return account

    def playlist(self, playlist_id: str) -> tuple[Account, Playlist] | None:
        """The playlist and its owner, among the accounts created so far."""
        with self._lock:
            found = self._playlists.get(playlist_id)
            return (self._accounts[found[0]], found[1]) if found else None

    # --- OAuth ---------------------------------------------------------------------------------

    def register_client(
        self, client_id: str, secret: str | None, redirect_uris: tuple[str, ...] | None
    ) -> Client:
        """Register a client: its secret (if any) and redirect URIs (if any) are then enforced.
        Unregistered clients are accepted with any secret, for convenience."""
        with self._lock:
            client = Client(client_id, secret, redirect_uris)
            self._clients[client_id] = client
            return client

    def client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)

    def authorize(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        scope: frozenset[str],
        challenge: str | None,
        account_id: str,
    ) -> str:
        """Approve the request on behalf of ``account_id``: a single-use code."""
        with self._lock:
            self.account(account_id)
            code = "AQ" + secrets.token_urlsafe(96)
            self._codes[code] = AuthCode(
                code, client_id, account_id, redirect_uri, scope, challenge, self.clock.now_ms()
            )
            return code

    def grant_account(self, grant_type: str, form: Mapping[str, str]) -> Account | None:
        """The account a token request is about (for faults and logs), if it can be told."""
        with self._lock:
            account_id = None
            if grant_type == "authorization_code" and (
                code := self._codes.get(form.get("code", ""))
            ):
                account_id = code.account_id
            if grant_type == "refresh_token":
                refresh = self._refresh.get(form.get("refresh_token", ""))
                account_id = refresh.account_id if refresh else None
            return self._accounts.get(account_id) if account_id else None

    def _check_client(self, client_id: str, secret: str | None, *, public_ok: bool) -> None:
        client = self._clients.get(client_id)
        if client is None or client.secret is None:
            return
        if secret is None:
            if not public_ok:
                raise OAuthError("invalid_client", "Invalid client")
        elif not hmac.compare_digest(secret.encode(), client.secret.encode()):
            raise OAuthError("invalid_client", "Invalid client secret")

    def exchange_code(
        self,
        *,
        client_id: str,
        client_secret: str | None,
        code: str,
        redirect_uri: str | None,
        code_verifier: str | None,
    ) -> TokenGrant:
        """The authorization_code grant. The code is spent by any attempt that names it."""
        with self._lock:
            found = self._codes.get(code)
            if found is None or found.used:
                raise OAuthError("invalid_grant", "Invalid authorization code")
            found.used = True
            self._check_client(client_id, client_secret, public_ok=code_verifier is not None)
            if found.client_id != client_id:
                raise OAuthError("invalid_grant", "Invalid authorization code")
            if self.clock.now_ms() - found.issued_ms > CODE_LIFETIME_MS:
                raise OAuthError("invalid_grant", "Authorization code expired")
            if redirect_uri != found.redirect_uri:
                raise OAuthError("invalid_grant", "Invalid redirect URI")
            if found.challenge is not None:
                if not code_verifier or not hmac.compare_digest(
                    s256(code_verifier), found.challenge
                ):
                    raise OAuthError("invalid_grant", "code_verifier was incorrect")
            elif client_secret is None and self._clients.get(client_id) is not None:
                raise OAuthError("invalid_client", "Invalid client")
            refresh = self._new_refresh(
                found.account_id,
                client_id,
                found.scope,
                consent_ms=self.clock.now_ms(),
                public=client_secret is None,
            )
            return self._grant(found.account_id, client_id, found.scope, refresh.token)

    def refresh(
        self, *, client_id: str, client_secret: str | None, refresh_token: str
    ) -> TokenGrant:
        """The refresh_token grant, honouring the account's rotation/omission options."""
        with self._lock:
            found = self._refresh.get(refresh_token)
            account = self._accounts.get(found.account_id) if found else None
            try:
                if found is None or account is None or found.revoked:
                    raise OAuthError("invalid_grant", "Invalid refresh token")
                self._check_client(client_id, client_secret, public_ok=found.public)
                if found.client_id != client_id:
                    raise OAuthError("invalid_grant", "Invalid refresh token")
                lifetime_ms = account.options.refresh_token_lifetime_s * 1000
                if self.clock.now_ms() >= found.consent_ms + lifetime_ms:
                    raise OAuthError("invalid_grant", "Refresh token expired")
            except OAuthError:
                if account is not None:
                    account.refresh_failures += 1
                raise
            returned: str | None = found.token
            if account.options.rotate_refresh_tokens:
                found.revoked = True
                new = self._new_refresh(
                    account.id,
                    client_id,
                    found.scope,
                    consent_ms=found.consent_ms,
                    public=found.public,
                )
                returned = new.token
            elif account.options.omit_refresh_token:
                returned = None
            account.refresh_count += 1
            return self._grant(account.id, client_id, found.scope, returned)

    def mint(
        self,
        account_id: str,
        *,
        client_id: str = "simulator",
        scope: frozenset[str] = ALL_SCOPES,
        ttl_s: int | None = None,
    ) -> TokenGrant:
        """Tokens for an account without the OAuth dance (consent is now)."""
        with self._lock:
            self.account(account_id)
            refresh = self._new_refresh(
                account_id, client_id, scope, consent_ms=self.clock.now_ms(), public=False
            )
            return self._grant(account_id, client_id, scope, refresh.token, ttl_s=ttl_s)

    def revoke(self, account_id: str) -> None:
        """Revoke every token of the account (as when the user removes the app's access)."""
        with self._lock:
            for access in self._access.values():
                access.revoked = access.revoked or access.account_id == account_id
            for refresh in self._refresh.values():
                refresh.revoked = refresh.revoked or refresh.account_id == account_id

    def _new_refresh(
        self,
        account_id: str,
        client_id: str,
        scope: frozenset[str],
        *,
        consent_ms: int,
        public: bool,
    ) -> RefreshToken:
        token = RefreshToken(
            "AQ" + secrets.token_urlsafe(96), account_id, client_id, scope, consent_ms, public
        )
        self._refresh[token.token] = token
        return token

    def _grant(
        self,
        account_id: str,
        client_id: str,
        scope: frozenset[str],
        refresh_token: str | None,
        *,
        ttl_s: int | None = None,
    ) -> TokenGrant:
        account = self._accounts[account_id]
        ttl = ttl_s if ttl_s is not None else account.options.token_ttl_s
        access = AccessToken(
            "BQ" + secrets.token_urlsafe(96),
            account_id,
            client_id,
            scope,
            self.clock.now_ms() + ttl * 1000,
        )
        self._access[access.token] = access
        account.tokens_issued += 1
        return TokenGrant(access.token, scope, ttl, refresh_token)

    def authenticate(self, bearer: str | None) -> AuthResult:
        """Check an access token. Errors are Spotify's 401 messages."""
        with self._lock:
            if not bearer:
                return AuthResult(None, None, "No token provided")
            token = self._access.get(bearer)
            if token is None:
                return AuthResult(None, None, "Invalid access token")
            account = self._accounts.get(token.account_id)
            if token.revoked or account is None:
                return AuthResult(account, token, "Invalid access token")
            if self.clock.now_ms() >= token.expires_ms:
                return AuthResult(account, token, "The access token expired")
            return AuthResult(account, token, None)

    # --- faults and request logs ---------------------------------------------------------------

    def add_fault(self, spec: Mapping[str, Any]) -> FaultRule:
        """Add a fault rule (see ``FaultRule.from_json``); raises ValueError on bad input."""
        with self._lock:
            self._fault_ids += 1
            rule = FaultRule.from_json(self._fault_ids, spec)
            self._faults.append(rule)
            return rule

    def faults(self) -> list[FaultRule]:
        with self._lock:
            return list(self._faults)

    def clear_faults(self, *, account_id: str | None = None, fault_id: int | None = None) -> int:
        """Remove rules (all, one account's, or one by id); returns how many were removed."""
        with self._lock:
            keep = [
                rule
                for rule in self._faults
                if (fault_id is not None and rule.id != fault_id)
                or (fault_id is None and account_id is not None and rule.account_id != account_id)
            ]
            removed = len(self._faults) - len(keep)
            self._faults = keep
            return removed

    def take_faults(self, account_id: str | None, endpoint: str) -> list[FaultRule]:
        """The rules that fire for this request, each consuming one of its remaining uses: all
        matching "slow" rules, then the first matching rule of another kind."""
        with self._lock:
            fired: list[FaultRule] = []
            decided = False
            for rule in self._faults:
                if not rule.matches(account_id, endpoint):
                    continue
                if rule.kind != "slow":
                    if decided:
                        continue
                    decided = True
                fired.append(rule)
                rule.hits += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
            self._faults = [rule for rule in self._faults if rule.remaining != 0]
            return fired

    def log_request(self, account: Account | None, record: RequestRecord) -> None:
        if account is None:
            return
        with self._lock:
            account.requests.append(record)

    def request_log(self, account_id: str, *, since_ms: int | None = None) -> list[RequestRecord]:
        with self._lock:
            account = self._accounts.get(account_id)
            records = list(account.requests) if account else []
        return [r for r in records if since_ms is None or r.at_ms >= since_ms]


_instance: Simulator | None = None
_instance_lock = threading.Lock()


def get_simulator(default_clock: str = "real") -> Simulator:
    """The process's simulator, created on first use with ``default_clock`` (real|simulated)."""
    global _instance
    with _instance_lock:
        if _instance is None:
            mode: ClockMode = "simulated" if default_clock == "simulated" else "real"
            _instance = Simulator(mode)
        return _instance
