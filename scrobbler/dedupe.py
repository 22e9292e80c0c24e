"""Recognising one listen reported by two sources (pure; no Django, no I/O).

Every path that stores plays (live polling, recently-played, imports) may report a listen that is
already stored, with a slightly different end time: the live engine sees an end within a poll
interval, an Extended Streaming History export has it to the second, Account Data only to the
minute. A stored play and a reported one are the same listen when they are of the same track and
their end times agree within both sources' tolerances. Listens of one track are matched in time
order (a two-pointer walk), so repeats of a short track pair up one to one: linear per track.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

# How far a source's recorded end may be from the true end, in ms: (offset of the true end's
# centre from the recorded end, half-width). Account Data's `endTime` is cut to the minute.
END_UNCERTAINTY_MS: dict[str, tuple[int, int]] = {
    "import": (0, 5_000),
    "live": (0, 15_000),
    "history": (0, 15_000),
    "local": (0, 15_000),
    "account": (15_000, 45_000),
}
# Plays this far apart can never be one listen; callers fetch stored plays with this margin.
MAX_WINDOW_MS = 2 * max(centre + width for centre, width in END_UNCERTAINTY_MS.values())


class Listen(NamedTuple):
    """A listen to match: (track id, end in ms, source, the caller's key: a row or a primary key).
    Hot paths pass plain tuples of the same shape."""

    track_id: int
    ended_ms: int
    source: str
    key: int


ListenRow = tuple[int, int, str, int]


def _window(listen: ListenRow) -> tuple[int, int]:
    centre, width = END_UNCERTAINTY_MS[listen[2]]
    return listen[1] + centre, width


def match(reported: Iterable[ListenRow], stored: Iterable[ListenRow]) -> dict[int, int]:
    """Pairs each reported listen that is already stored with its stored play: {reported key:
    stored key}. Exact (track, end) matches first; then, per track in time order, a stored play
    whose end agrees within both tolerances, unless both come from the same kind of source (one
    source never reports one listen at two different times)."""
    stored_by_end = {(listen[0], listen[1]): listen for listen in stored}
    if not stored_by_end:
        return {}
    pairs: dict[int, int] = {}
    taken: set[int] = set()
    rest: list[ListenRow] = []
    for listen in reported:
        twin = stored_by_end.get((listen[0], listen[1]))
        if twin is not None and twin[3] not in taken:
            pairs[listen[3]] = twin[3]
            taken.add(twin[3])
        else:
            rest.append(listen)
    if not rest:
        return pairs
    by_track: dict[int, list[ListenRow]] = defaultdict(list)
    for listen in rest:
        by_track[listen[0]].append(listen)
    candidates: dict[int, list[ListenRow]] = defaultdict(list)
    for listen in stored_by_end.values():
        if listen[0] in by_track and listen[3] not in taken:
            candidates[listen[0]].append(listen)
    for track_id, mine in by_track.items():
        theirs = candidates.get(track_id)
        if theirs:
            pairs.update(_walk(sorted(mine, key=_window), sorted(theirs, key=_window)))
    return pairs


def _walk(mine: list[ListenRow], theirs: list[ListenRow]) -> dict[int, int]:
    pairs: dict[int, int] = {}
    i = j = 0
    while i < len(mine) and j < len(theirs):
        (a, a_width), (b, b_width) = _window(mine[i]), _window(theirs[j])
        if abs(a - b) <= a_width + b_width and mine[i][2] != theirs[j][2]:
            pairs[mine[i][3]] = theirs[j][3]
            i += 1
            j += 1
        elif a <= b:
            i += 1
        else:
            j += 1
    return pairs
