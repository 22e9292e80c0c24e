"""Serve the simulator alone, over WSGI, in a thread pool (standalone command and tests)."""

from __future__ import annotations

from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.http import HttpRequest, HttpResponseBase

STANDALONE_URLCONF = "spotify_sim.standalone_urls"


class SimulatorWSGIHandler(WSGIHandler):
    """Django's WSGI handler routing every request through the simulator-only URLconf, whatever
    ``ROOT_URLCONF`` says."""

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        # Django resolves (and reverses) with request.urlconf when a handler sets it.
        request.urlconf = STANDALONE_URLCONF  # type: ignore[attr-defined]
        return super().get_response(request)


class RequestHandler(WSGIRequestHandler):
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True


class QuietRequestHandler(RequestHandler):
    """No access log lines (tests and benchmarks make thousands of requests)."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def make_server(host: str, port: int, *, quiet: bool = False) -> ThreadedWSGIServer:
    """A threaded server bound to ``host:port`` (port 0: any free port) serving the simulator;
    call ``serve_forever()`` on it."""
    handler = QuietRequestHandler if quiet else RequestHandler
    server = ThreadedWSGIServer((host, port), handler, ipv6=":" in host)
    server.set_app(SimulatorWSGIHandler())
    return server
