"""Fault rules: make chosen endpoints misbehave the ways Spotify has been seen to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal, cast

FaultKind = Literal["rate_limit", "error", "slow", "invalid_grant", "no_content"]
FAULT_KINDS: tuple[FaultKind, ...] = ("rate_limit", "error", "slow", "invalid_grant", "no_content")
BodyStyle = Literal["json", "html", "empty"]


@dataclass
class FaultRule:
    """One rule. ``endpoint`` is a glob over the path below the mount point, for example
    ``v1/me/player/*`` or ``accounts/api/token``; ``account_id`` None matches every account.

    Kinds: ``rate_limit`` (429 with ``Retry-After: retry_after`` seconds, under the header name
    ``retry_after_header``; ``retry_after`` None leaves the header out), ``error`` (``status``,
    5xx, with a JSON, HTML or empty body), ``slow`` (waits ``delay_ms``, then answers normally),
    ``invalid_grant`` (the token endpoint answers 400 invalid_grant, as for a revoked grant),
    ``no_content`` (204 with no body, as currently-playing sometimes does while playing).
    ``remaining`` uses before the rule goes away; None: until cleared.
    """

    id: int
    kind: FaultKind
    endpoint: str = "*"
    account_id: str | None = None
    status: int = 0
    retry_after: int | None = 1
    retry_after_header: str = "Retry-After"
    delay_ms: int = 0
    body: BodyStyle = "json"
    remaining: int | None = None
    hits: int = 0

    def matches(self, account_id: str | None, endpoint: str) -> bool:
        if self.account_id is not None and self.account_id != account_id:
            return False
        return fnmatchcase(endpoint, self.endpoint)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, rule_id: int, spec: Mapping[str, Any]) -> FaultRule:
        """Build a rule from control-API JSON (``count`` sets ``remaining``); ValueError if bad."""
        allowed = {
            "kind", "endpoint", "account", "status", "retry_after", "retry_after_header",
            "delay_ms", "body", "count",
        }  # fmt: skip
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        default_status = {"rate_limit": 429, "error": 500, "invalid_grant": 400, "no_content": 204}
        status = int(spec.get("status", default_status.get(kind, 0)))
        if kind == "error" and not 500 <= status <= 599:
            raise ValueError("an error fault has a 5xx status")
        header = str(spec.get("retry_after_header", "Retry-After"))
        if header.lower() != "retry-after":
            raise ValueError("retry_after_header is Retry-After in some letter case")
        retry_after = spec.get("retry_after", 1)
        count = spec.get("count")
        if count is not None and int(count) < 1:
            raise ValueError("count is at least 1 (or null: until cleared)")
        body = spec.get("body", "json")
        if body not in ("json", "html", "empty"):
            raise ValueError("body is json, html or empty")
        account = spec.get("account")
        return cls(
            id=rule_id,
            kind=cast(FaultKind, kind),
            endpoint=str(spec.get("endpoint", "*")),
            account_id=None if account is None else str(account),
            status=status,
            retry_after=None if retry_after is None else int(retry_after),
            retry_after_header=header,
            delay_ms=max(0, int(spec.get("delay_ms", 0))),
            body=cast(BodyStyle, body),
            remaining=None if count is None else int(count),
        )
