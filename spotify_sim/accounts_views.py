"""The simulated accounts service: ``/authorize`` (auto-approving) and ``/api/token``."""

from __future__ import annotations

import base64
import binascii
import re
from html import escape
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from spotify_sim.state import ACCOUNT_ID_RE
from spotify_sim.tokens import OAuthError, TokenGrant
from spotify_sim.web import (
    apply_faults,
    json_response,
    log_request,
    oauth_error,
    simulator,
)

CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest, unpadded


def _bad_request(message: str) -> HttpResponse:
    page = f"<!doctype html><title>Error</title><h1>Error</h1><p>{escape(message)}</p>"
    return HttpResponse(page, status=400, content_type="text/html; charset=utf-8")


def _valid_redirect_uri(uri: str) -> bool:
    parts = urlsplit(uri)
    if not parts.scheme or parts.fragment:
        return False
    return bool(parts.netloc) or parts.scheme not in ("http", "https")


def _redirect(uri: str, **params: str | None) -> HttpResponse:
    """302 to ``uri`` with ``params`` added to its query (any scheme: apps use custom ones)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    response = HttpResponse(status=302)
    response["Location"] = urlunsplit(parts._replace(query=urlencode(query)))
    return response


@csrf_exempt
def authorize(request: HttpRequest) -> HttpResponse:
    """Approve at once as the account named by ``sim_account`` (default ``demo``) and redirect
    with a code. Bad client, redirect URI or PKCE parameters: a 400 page and no redirect.
    ``sim_deny=1`` answers ``error=access_denied``, as when the user cancels."""
    sim = simulator()
    query = request.GET
    client_id = query.get("client_id", "")
    redirect_uri = query.get("redirect_uri", "")
    if request.method != "GET":
        return _bad_request("Use GET")
    if not client_id:
        return _bad_request("INVALID_CLIENT: Invalid client")
    client = sim.client(client_id)
    if not _valid_redirect_uri(redirect_uri) or (
        client is not None
        and client.redirect_uris is not None
        and redirect_uri not in client.redirect_uris
    ):
        return _bad_request("INVALID_CLIENT: Invalid redirect URI")
    response_type = query.get("response_type")
    if not response_type:
        return _bad_request("response_type must be supplied")
    state = query.get("state")
    if response_type != "code":
        return _redirect(redirect_uri, error="unsupported_response_type", state=state)
    challenge = query.get("code_challenge")
    method = query.get("code_challenge_method")
    if challenge is not None or method is not None:
        if method != "S256":
            return _bad_request("code_challenge_method must be S256")
        if not CHALLENGE_RE.fullmatch(challenge or ""):
            return _bad_request("code_challenge must be 43 base64url characters")
    account_id = query.get("sim_account", "demo")
    if not ACCOUNT_ID_RE.fullmatch(account_id):
        return _bad_request("sim_account: 1-64 letters, digits, '_', '.' or '-'")
    account = sim.account(account_id)
    now_ms = sim.now_ms()
    if query.get("sim_deny"):
        response = _redirect(redirect_uri, error="access_denied", state=state)
    else:
        code = sim.authorize(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=frozenset(query.get("scope", "").split()),
            challenge=challenge,
            account_id=account_id,
        )
        response = _redirect(redirect_uri, code=code, state=state)
    log_request(sim, account, request, at_ms=now_ms, status=response.status_code, fault_id=None)
    return response


def _client_credentials(request: HttpRequest) -> tuple[str, str | None]:
    """``(client_id, client_secret)`` from HTTP Basic auth or the form body."""
    header = request.headers.get("Authorization", "")
    body_id = request.POST.get("client_id", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Invalid client") from None
        client_id, colon, secret = decoded.partition(":")
        if not colon or (body_id and body_id != unquote(client_id)):
            raise OAuthError("invalid_client", "Invalid client")
        return unquote(client_id), unquote(secret)
    return body_id, request.POST.get("client_secret")


def _grant(request: HttpRequest, grant_type: str | None) -> TokenGrant:
    sim = simulator()
    form = request.POST
    client_id, secret = _client_credentials(request)
    if not client_id:
        raise OAuthError("invalid_client", "Invalid client")
    if grant_type == "authorization_code":
        code = form.get("code")
        if not code:
            raise OAuthError("invalid_request", "code must be supplied")
        return sim.exchange_code(
            client_id=client_id,
            client_secret=secret,
            code=code,
            redirect_uri=form.get("redirect_uri"),
            code_verifier=form.get("code_verifier"),
        )
    if grant_type == "refresh_token":
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            raise OAuthError("invalid_request", "refresh_token must be supplied")
        return sim.refresh(client_id=client_id, client_secret=secret, refresh_token=refresh_token)
    if not grant_type:
        raise OAuthError("unsupported_grant_type", "grant_type parameter is missing")
    raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials, ...")


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """``POST api/token`` (form-encoded): the authorization_code and refresh_token grants."""
    sim = simulator()
    now_ms = sim.now_ms()
    if request.method != "POST":
        return oauth_error("invalid_request", "Use POST", status=405)
    grant_type = request.POST.get("grant_type")
    account = sim.grant_account(grant_type or "", request.POST)
    response, fault_id = apply_faults(sim, account, request)
    if response is None:
        try:
            response = json_response(_grant(request, grant_type).to_json())
            response["Cache-Control"] = "no-store"
        except OAuthError as error:
            response = oauth_error(error.error, error.description)
    log_request(sim, account, request, at_ms=now_ms, status=response.status_code, fault_id=fault_id)
    return response
