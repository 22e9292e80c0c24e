"""The simulator's clock: real time, or a simulated time moved by the control API."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

ClockMode = Literal["real", "simulated"]
CLOCK_MODES: tuple[ClockMode, ...] = ("real", "simulated")


class Clock:
    """Real time, or a simulated time that only moves when set or advanced."""

    def __init__(self, mode: ClockMode = "real", *, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._mode: ClockMode = mode
        self._now_ms = self._wall_ms()

    def _wall_ms(self) -> int:
        return int(self._wall() * 1000)

    @property
    def mode(self) -> ClockMode:
        return self._mode

    def now_ms(self) -> int:
        return self._wall_ms() if self._mode == "real" else self._now_ms

    def set_mode(self, mode: ClockMode) -> None:
        """Switching to simulated starts from the current real time."""
        if mode == "simulated" and self._mode == "real":
            self._now_ms = self._wall_ms()
        self._mode = mode

    def set(self, now_ms: int) -> None:
        """Set the time (switches to simulated)."""
        self._mode = "simulated"
        self._now_ms = now_ms

    def advance(self, delta_ms: int) -> None:
        """Move the time forward by ``delta_ms`` (switches to simulated, from the current time)."""
        self.set(self.now_ms() + delta_ms)
