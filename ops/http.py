"""Who is asking: the client's address behind any number of trusted reverse proxies, and a
request typed with what django-htmx's middleware tells about it (`request.htmx`)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that has passed HtmxMiddleware (django-htmx's documented typing pattern): views
    ask `request.htmx` rather than reading the HX-* headers by hand."""

    htmx: HtmxDetails


def client_ip(request: HttpRequest) -> str:
    """The client's address, for rate limits and sign-in lockouts. Behind TRUSTED_PROXY_COUNT
    proxies it is the address the outermost of them saw: each proxy appends the address it was
    reached from to X-Forwarded-For, so entries further left were written by the client itself
    and are not to be trusted."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [
        address.strip()
        for address in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if address.strip()
    ]
    if len(forwarded) < proxies:
        return remote  # reached without passing every proxy (a local probe): its own address
    return forwarded[-proxies]
