"""The control API (``_control/...``, JSON): what tests, benchmarks and the demo use to drive the
simulator. Errors are ``{"error": "..."}`` with 400 (bad input) or 404 (no such account/rule).
Times are accepted as epoch ms or ISO 8601 and returned as both (``*_ms`` and ISO)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from functools import wraps
from typing import Any, Concatenate, ParamSpec, cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from spotify_sim.clock import CLOCK_MODES, ClockMode
from spotify_sim.state import Account, Simulator
from spotify_sim.timeline import Play, Segment
from spotify_sim.times import iso_ms, parse_instant
from spotify_sim.tokens import ALL_SCOPES
from spotify_sim.web import api_base, simulator

P = ParamSpec("P")
Body = dict[str, Any]
ACCOUNT_FIELDS = ("display_name", "email", "seed", "profile", "options")


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def control_view(
    *methods: str,
) -> Callable[
    [Callable[Concatenate[HttpRequest, Simulator, Body, P], Body | HttpResponse]],
    Callable[Concatenate[HttpRequest, P], HttpResponse],
]:
    """JSON in (the body, ``{}`` when empty), JSON out; ValueError and ControlError become 400s."""

    def decorate(
        view: Callable[Concatenate[HttpRequest, Simulator, Body, P], Body | HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            if request.method not in methods:
                return JsonResponse({"error": f"use {' or '.join(methods)}"}, status=405)
            try:
                body = json.loads(request.body or b"{}")
                if not isinstance(body, dict):
                    raise ControlError("the body is a JSON object")
                result = view(request, simulator(), body, *args, **kwargs)
            except json.JSONDecodeError:
                return JsonResponse({"error": "the body is not JSON"}, status=400)
            except ControlError as error:
                return JsonResponse({"error": str(error)}, status=error.status)
            except (ValueError, TypeError) as error:
                return JsonResponse({"error": str(error)}, status=400)
            if isinstance(result, HttpResponse):
                return result
            return JsonResponse(result, json_dumps_params={"ensure_ascii": False})

        return wrapper

    return decorate


def _account(sim: Simulator, account_id: str) -> Account:
    found = sim.find_account(account_id)
    if found is None:
        raise ControlError(f"no account {account_id!r}", status=404)
    return found


def _clock_json(sim: Simulator) -> Body:
    now = sim.now_ms()
    return {"mode": sim.clock.mode, "now_ms": now, "now": iso_ms(now)}


def account_json(account: Account) -> Body:
    return {
        "id": account.id,
        "display_name": account.display_name,
        "email": account.email,
        "seed": account.seed,
        "profile": asdict(account.profile),
        "start_ms": account.start_ms,
        "start": iso_ms(account.start_ms),
        "options": account.options.to_json(),
        "refresh_count": account.refresh_count,
        "refresh_failures": account.refresh_failures,
        "tokens_issued": account.tokens_issued,
        "playlists": [playlist.id for playlist in account.listener.playlists],
        "devices": [asdict(device) for device in account.listener.devices],
    }


def _scope(value: object) -> frozenset[str]:
    if value is None:
        return ALL_SCOPES
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(str(item) for item in value)
    raise ControlError("scope is a space-separated string or a list")


def _mint(sim: Simulator, account_id: str, spec: object) -> Body:
    spec = spec if isinstance(spec, dict) else {}
    ttl = spec.get("ttl_s")
    grant = sim.mint(
        account_id,
        client_id=str(spec.get("client_id", "simulator")),
        scope=_scope(spec.get("scope")),
        ttl_s=None if ttl is None else int(ttl),
    )
    return grant.to_json()


def _account_spec(sim: Simulator, body: Body) -> Body:
    """The account fields of a control body, with ``start``/``history_s`` as epoch ms."""
    unknown = set(body) - {*ACCOUNT_FIELDS, "start", "history_s", "id", "tokens"}
    if unknown:
        raise ControlError(f"unknown account fields: {', '.join(sorted(unknown))}")
    spec: Body = {key: body[key] for key in ACCOUNT_FIELDS if key in body}
    if "start" in body:
        spec["start"] = parse_instant(body["start"])
    elif "history_s" in body:
        spec["start"] = sim.now_ms() - int(float(body["history_s"]) * 1000)
    return spec


@control_view("POST")
def reset(request: HttpRequest, sim: Simulator, body: Body) -> Body:
    """``{"clock"?: "real"|"simulated"}``: forget all accounts, tokens, clients and faults."""
    clock = body.get("clock")
    if clock is not None and clock not in CLOCK_MODES:
        raise ControlError("clock is real or simulated")
    sim.reset(cast(ClockMode, clock) if clock else None)
    return {"reset": True, "clock": _clock_json(sim)}


@control_view("GET", "POST")
def clock(request: HttpRequest, sim: Simulator, body: Body) -> Body:
    """GET: the clock. POST ``{"mode"?, "now"? (ms or ISO), "advance_ms"?, "advance_s"?}``:
    setting or advancing the time makes it simulated."""
    if request.method == "POST":
        mode = body.get("mode")
        if mode is not None:
            if mode not in CLOCK_MODES:
                raise ControlError("mode is real or simulated")
            sim.clock.set_mode(cast(ClockMode, mode))
        if "now" in body:
            sim.clock.set(parse_instant(body["now"]))
        if "advance_ms" in body:
            sim.clock.advance(int(body["advance_ms"]))
        if "advance_s" in body:
            sim.clock.advance(int(float(body["advance_s"]) * 1000))
    return _clock_json(sim)


@control_view("GET", "POST")
def accounts(request: HttpRequest, sim: Simulator, body: Body) -> Body:
    """GET: every account. POST: create or update many at once, for benchmarks:
    ``{"accounts": [{"id", ...account fields}], "tokens"?: true|{client_id, scope, ttl_s}}`` or
    ``{"prefix": "bench-", "count": 1000, ...shared account fields, "tokens"?: ...}`` (ids
    ``bench-0``... and seeds equal to the ids unless given). Answers ``{"accounts": [{"id",
    "tokens"?}]}``."""
    if request.method == "GET":
        return {"accounts": [account_json(sim.account(i)) for i in sim.account_ids()]}
    tokens = body.get("tokens")
    if "accounts" in body:
        specs = [(str(item["id"]), _account_spec(sim, item)) for item in body["accounts"]]
    else:
        prefix, count = str(body.get("prefix", "account-")), int(body.get("count", 0))
        if not 1 <= count <= 100_000:
            raise ControlError("give accounts, or prefix and count (1-100000)")
        shared = _account_spec(sim, {k: v for k, v in body.items() if k not in ("prefix", "count")})
        specs = [(f"{prefix}{n}", shared) for n in range(count)]
    created = []
    for account_id, spec in specs:
        sim.configure_account(account_id, spec)
        entry: Body = {"id": account_id}
        if tokens:
            entry["tokens"] = _mint(sim, account_id, tokens)
        created.append(entry)
    return {"accounts": created}


@control_view("GET", "POST")
def account(request: HttpRequest, sim: Simulator, body: Body, account_id: str) -> Body:
    """GET: the account (404 if unknown). POST (create or update): ``{"display_name"?, "email"?,
    "seed"?, "profile"? (name or {"base", field: value}), "start"? | "history_s"?, "options"?:
    {"token_ttl_s", "rotate_refresh_tokens", "omit_refresh_token", "refresh_token_lifetime_s",
    "product", "country", "history": {HistoryOptions fields}}, "tokens"?: true|{...}}``."""
    if request.method == "GET":
        return account_json(_account(sim, account_id))
    result = account_json(sim.configure_account(account_id, _account_spec(sim, body)))
    if body.get("tokens"):
        result["tokens"] = _mint(sim, account_id, body["tokens"])
    return result


@control_view("POST")
def account_tokens(request: HttpRequest, sim: Simulator, body: Body, account_id: str) -> Body:
    """``{"client_id"?, "scope"? (default: every read scope), "ttl_s"?}``: a token response
    (``access_token``, ``refresh_token``...) without the OAuth dance."""
    return _mint(sim, account_id, body)


@control_view("POST")
def account_revoke(request: HttpRequest, sim: Simulator, body: Body, account_id: str) -> Body:
    """Revoke every token of the account: API calls get 401, refreshes invalid_grant."""
    sim.revoke(_account(sim, account_id).id)
    return {"revoked": True}


@control_view("GET", "DELETE")
def account_requests(request: HttpRequest, sim: Simulator, body: Body, account_id: str) -> Body:
    """GET ``?since=`` (ms or ISO): the account's request log, oldest first. DELETE clears it."""
    found = _account(sim, account_id)
    if request.method == "DELETE":
        found.requests.clear()
        return {"requests": []}
    since = request.GET.get("since")
    records = sim.request_log(account_id, since_ms=parse_instant(since) if since else None)
    return {"requests": [{**asdict(r), "at": iso_ms(r.at_ms)} for r in records]}


def _window(request: HttpRequest, sim: Simulator, account: Account) -> tuple[int, int]:
    start, end = request.GET.get("start"), request.GET.get("end")
    return (
        parse_instant(start) if start else account.start_ms,
        parse_instant(end) if end else sim.now_ms(),
    )


@control_view("GET")
def account_plays(request: HttpRequest, sim: Simulator, body: Body, account_id: str) -> Body:
    """``?start=&end=`` (default: the listener's start, now) ``&overlapping=1``: ground-truth
    plays, each with ``listed`` (would Spotify's history list it) and its ``played_at``."""
    found = _account(sim, account_id)
    start, end = _window(request, sim, found)
    overlapping = request.GET.get("overlapping") in ("1", "true")
    plays = found.listener.plays(start, end, overlapping=overlapping)
    return {"plays": [_play_json(found, play) for play in plays]}


def _play_json(account: Account, play: Play) -> Body:
    options = account.options.history
    listed = account.listener.is_listed(play, options)
    played_at = account.listener.played_at_ms(play, options) if listed else None
    return {
        **asdict(play),
        "started_at": iso_ms(play.started_at_ms),
        "ended_at": iso_ms(play.ended_at_ms),
        "listed": listed,
        "played_at": iso_ms(played_at) if played_at is not None else None,
    }


@control_view("GET")
def account_segments(request: HttpRequest, sim: Simulator, body: Body, account_id: str) -> Body:
    """``?start=&end=``: the timeline's segments (what plays when, and what changed)."""
    found = _account(sim, account_id)
    start, end = _window(request, sim, found)
    return {"segments": [_segment_json(s) for s in found.listener.segments(start, end)]}


def _segment_json(segment: Segment) -> Body:
    return {**asdict(segment), "start": iso_ms(segment.start_ms), "end": iso_ms(segment.end_ms)}


@control_view("GET", "POST")
def faults(request: HttpRequest, sim: Simulator, body: Body) -> Body | HttpResponse:
    """GET: the rules. POST ``{"kind": "rate_limit"|"error"|"slow"|"invalid_grant"|"no_content",
    "endpoint"?: glob ("v1/me/player/*", "accounts/api/token"; default "*"), "account"?: id
    (default: every account), "status"?, "retry_after"?: s or null (no header),
    "retry_after_header"?: "Retry-After"|"retry-after", "delay_ms"?, "body"?: "json"|"html"|
    "empty", "count"?: n or null (until cleared)}``: 201 with the rule."""
    if request.method == "GET":
        return {"faults": [rule.to_json() for rule in sim.faults()]}
    rule = sim.add_fault(body)
    return JsonResponse(rule.to_json(), status=201)


@control_view("POST")
def faults_clear(request: HttpRequest, sim: Simulator, body: Body) -> Body:
    """``{"account"?: id}``: remove every rule, or that account's."""
    account_id = body.get("account")
    removed = sim.clear_faults(account_id=None if account_id is None else str(account_id))
    return {"removed": removed}


@control_view("DELETE")
def fault(request: HttpRequest, sim: Simulator, body: Body, fault_id: int) -> Body:
    if not sim.clear_faults(fault_id=fault_id):
        raise ControlError(f"no fault {fault_id}", status=404)
    return {"removed": 1}


@control_view("POST")
def clients(request: HttpRequest, sim: Simulator, body: Body) -> HttpResponse:
    """``{"client_id", "client_secret"?, "redirect_uris"?: [...]}``: register a client, whose
    secret and redirect URIs are then enforced (unregistered clients are accepted as they come)."""
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise ControlError("client_id is required")
    uris = body.get("redirect_uris")
    secret = body.get("client_secret")
    client = sim.register_client(
        client_id,
        None if secret is None else str(secret),
        None if uris is None else tuple(str(uri) for uri in uris),
    )
    return JsonResponse({**asdict(client)}, status=201)


@control_view("GET")
def index(request: HttpRequest, sim: Simulator, body: Body) -> Body:
    """Where things are: the API and accounts base URLs, and the clock."""
    api = api_base(request)
    root = api.removesuffix("v1")
    return {
        "api_base_url": api,
        "accounts_base_url": root + "accounts",
        "control": root + "_control/",
        "clock": _clock_json(sim),
    }
