"""The Spotify simulator fixtures of tests/scrobbler, for the operations tests' real polls."""

from __future__ import annotations

from tests.scrobbler.conftest import sim, sim_server, spotify

__all__ = ["sim", "sim_server", "spotify"]
