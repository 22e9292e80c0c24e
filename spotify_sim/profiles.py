"""Listening profiles: the probabilities that drive a simulated listener's behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Profile:
    """How a listener behaves. Probabilities are per track (or per pause/seek where noted)."""

    name: str
    skip: float = 0.04  # leave the track with "next" before its end
    skip_early: float = 0.5  # share of skips that happen in the first 30 s
    pause: float = 0.02  # pause (then resume) at some point of the track
    pause_s: tuple[float, float] = (3.0, 240.0)
    change_while_paused: float = 0.2  # share of pauses that end with "next" while still paused
    abandon_pause: float = 0.05  # share of pauses that end the listening session
    seek: float = 0.02
    seek_back: float = 0.4  # share of seeks that go backwards
    seek_to_end: float = 0.15  # share of forward seeks that jump to the very end
    repeat_one: float = 0.0  # loop the track 2-4 times with repeat "track"
    previous: float = 0.01  # press "previous" more than 3 s in: the track restarts
    device_switch: float = 0.01  # move playback to another device mid-track
    transfer_gap: float = 0.3  # share of device switches with a short "unknown" gap
    local: float = 0.0  # play a local file instead of the next track
    private: float = 0.0  # start a private session lasting 1-4 tracks
    ad: float = 0.0  # an ad break before the track
    episode: float = 0.0  # a podcast episode instead of the next track
    idle: float = 0.02  # stop listening after the track
    idle_s: tuple[float, float] = (60.0, 3_600.0)
    shuffle: float = 0.3  # shuffle a new playlist context
    context_switch: float = 0.05  # move on to another album or playlist

    def with_overrides(self, overrides: Mapping[str, Any]) -> Profile:
        """A copy with some fields changed; unknown fields raise ValueError."""
        known = {field.name for field in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in overrides.items()
        }
        return replace(self, **values)


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("steady", skip=0.02, pause=0.01, seek=0.0, previous=0.0, device_switch=0.0),
        Profile("skipper", skip=0.6, skip_early=0.55),
        Profile("pauser", pause=0.5, pause_s=(2.0, 900.0), change_while_paused=0.25),
        Profile("seeker", seek=0.5, seek_back=0.45, seek_to_end=0.2),
        Profile("repeat_one", repeat_one=0.35, previous=0.1),
        Profile("device_hopper", device_switch=0.45, transfer_gap=0.5),
        Profile(
            "mixed",
            skip=0.2,
            pause=0.1,
            seek=0.08,
            repeat_one=0.05,
            previous=0.05,
            device_switch=0.05,
            local=0.06,
            private=0.03,
            ad=0.08,
            episode=0.04,
            idle=0.04,
            idle_s=(30.0, 1_800.0),
        ),
    )
}


def resolve_profile(profile: Profile | str | Mapping[str, Any]) -> Profile:
    """A Profile from itself, a profile name, or ``{"base": name, <field>: value, ...}``."""
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}: one of {', '.join(PROFILES)}")
        return PROFILES[profile]
    overrides = dict(profile)
    base = resolve_profile(str(overrides.pop("base", "mixed")))
    name = str(overrides.pop("name", f"{base.name}*"))
    return base.with_overrides({"name": name, **overrides})
