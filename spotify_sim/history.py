"""What Spotify's recently-played endpoint would list, with its documented quirks as options."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from spotify_sim.catalog import stable_unit
from spotify_sim.timeline import Play

MAX_LIMIT = 50


@dataclass(frozen=True)
class HistoryOptions:
    """Quirks of recently-played. The defaults are the documented behaviour, without quirks.

    - ``min_ms_played``: plays heard for less are not listed (Spotify: 30 s).
    - ``played_at_start_fraction``: share of items whose ``played_at`` is the start of the play
      instead of its end (spotify/web-api #613, #1083).
    - ``delay_tracks``/``delay_s``: an item appears only once that many later plays have ended and
      that many seconds have passed (#12, #1441); ``max_delay_s`` caps the wait when listening stops.
    - ``drop_next_after_30s_fraction``: share of plays left with "next" after more than 30 s that
      are never listed (#954, #1017).
    - ``seeked_to_end_listed_fraction``: share of plays heard for less than ``min_ms_played`` but
      seeked to their end that are listed anyway (#1376).
    - ``max_items``: only the newest this many are reachable (#764).
    """

    min_ms_played: int = 30_000
    played_at_start_fraction: float = 0.0
    delay_tracks: int = 0
    delay_s: float = 0.0
    max_delay_s: float = 3_600.0
    drop_next_after_30s_fraction: float = 0.0
    seeked_to_end_listed_fraction: float = 0.0
    max_items: int = MAX_LIMIT

    def with_overrides(self, overrides: Mapping[str, Any]) -> HistoryOptions:
        """A copy with some fields changed; unknown fields raise ValueError."""
        unknown = set(overrides) - {field.name for field in fields(self)}
        if unknown:
            raise ValueError(f"unknown history options: {', '.join(sorted(unknown))}")
        return replace(self, **overrides)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    play: Play
    played_at_ms: int


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Items newest first; ``has_more`` when the cursor direction has further items."""

    items: tuple[HistoryEntry, ...]
    has_more: bool


def is_listed(play: Play, options: HistoryOptions, seed: str) -> bool:
    """Whether Spotify's history would ever list this play (visibility delays aside)."""
    if play.kind != "track" or play.private:
        return False
    if play.ms_played >= options.min_ms_played:
        if play.end_reason == "next" and play.ms_played > 30_000:
            return stable_unit(seed, "drop", play.index) >= options.drop_next_after_30s_fraction
        return True
    seeked_to_end = play.end_reason == "finished" and play.skipped_ahead_ms > 0
    if seeked_to_end:
        return stable_unit(seed, "seeked", play.index) < options.seeked_to_end_listed_fraction
    return False


def played_at_ms(play: Play, options: HistoryOptions, seed: str) -> int:
    if stable_unit(seed, "played_at", play.index) < options.played_at_start_fraction:
        return play.started_at_ms
    return play.ended_at_ms


def is_visible(
    plays: Sequence[Play], index: int, ended: int, now_ms: int, o: HistoryOptions
) -> bool:
    """Whether ``plays[index]`` shows at ``now_ms``, given that ``plays[:ended]`` have ended."""
    end = plays[index].ended_at_ms
    if end + int(o.max_delay_s * 1000) <= now_ms:
        return True
    if end + int(o.delay_s * 1000) > now_ms:
        return False
    return o.delay_tracks == 0 or index + o.delay_tracks < ended


def recently_played(
    plays: Sequence[Play],
    listed: Sequence[int],
    ended: int,
    now_ms: int,
    *,
    options: HistoryOptions,
    seed: str,
    limit: int = 20,
    after: int | None = None,
    before: int | None = None,
) -> HistoryPage:
    """Spotify's answer at ``now_ms``. ``listed``: sorted indices of plays passing ``is_listed``;
    ``plays[:ended]`` are the plays that have ended by ``now_ms``.

    The newest ``max_items`` visible items form the window; ``before`` pages back from a cursor
    (newest first), ``after`` returns the items just after the cursor (the oldest ``limit`` of
    them, still newest first) so that polling with ``after`` never skips items.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError("limit must be between 1 and 50")
    if after is not None and before is not None:
        raise ValueError("only one of after and before")
    window: list[HistoryEntry] = []
    position = bisect_left(listed, ended) - 1
    # Visibility only grows with age, so the invisible items are the newest few.
    while position >= 0 and len(window) < options.max_items:
        index = listed[position]
        if is_visible(plays, index, ended, now_ms, options):
            play = plays[index]
            window.append(HistoryEntry(play, played_at_ms(play, options, seed)))
        position -= 1
    if after is not None:
        newer = [entry for entry in window if entry.played_at_ms > after]
        return HistoryPage(tuple(newer[-limit:]), len(newer) > limit)
    if before is not None:
        older = [entry for entry in window if entry.played_at_ms < before]
        return HistoryPage(tuple(older[:limit]), len(older) > limit)
    return HistoryPage(tuple(window[:limit]), len(window) > limit)
