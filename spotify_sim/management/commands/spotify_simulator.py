"""``manage.py spotify_simulator``: run the bundled Spotify simulator on its own."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from spotify_sim.clock import CLOCK_MODES
from spotify_sim.server import make_server
from spotify_sim.state import get_simulator


class Command(BaseCommand):
    help = (
        "Run the Spotify Web API simulator alone. Its paths are the same as inside Encore: "
        "http://HOST:PORT/spotify-sim/v1 (API), /spotify-sim/accounts (accounts service), "
        "/spotify-sim/_control/ (control API). Needs no database."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--clock",
            choices=CLOCK_MODES,
            default=getattr(settings, "SPOTIFY_SIMULATOR_CLOCK", "real"),
            help="real time, or a simulated clock moved through the control API",
        )
        parser.add_argument("--quiet", action="store_true", help="no access log")

    def handle(self, *args: Any, **options: Any) -> None:
        get_simulator(options["clock"]).reset(options["clock"])
        server = make_server(options["host"], options["port"], quiet=options["quiet"])
        host, port = str(server.server_address[0]), int(server.server_address[1])
        base = f"http://{'[' + host + ']' if ':' in host else host}:{port}/spotify-sim"
        self.stdout.write(
            f"Spotify simulator ({options['clock']} clock) on {base}/\n"
            f"  SPOTIFY_API_BASE_URL={base}/v1\n"
            f"  SPOTIFY_ACCOUNTS_BASE_URL={base}/accounts\n"
            "Quit with Ctrl-C."
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
