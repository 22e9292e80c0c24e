"""The one way Encore writes numbers and durations for people: counts with thousands separators
("36,292"), counts with their unit in the right number ("1 play", "2 plays") and durations
("9 h 32 min", "45 min", "3 d 4 h"). Pure functions; the `numbers` template library wraps them
for every room's templates (ops is the lowest room, so all may load it)."""

from __future__ import annotations

NONE = "—"  # no figure at all (not zero)


def count_format(n: int | float | None) -> str:
    """A whole count with thousands separators: "36,292"; "—" for none."""
    if n is None:
        return NONE
    return f"{round(n):,}"


def counted_format(n: int | float | None, unit: str) -> str:
    """A count and its unit: "1 play", "36,292 plays". `unit` is the singular, or "singular,plural"
    where adding an s is wrong ("match,matches")."""
    singular, _, plural = unit.partition(",")
    plural = plural or f"{singular}s"
    if n is None:
        return f"{NONE} {plural}"
    return f"{count_format(n)} {singular if round(n) == 1 else plural}"


def duration_format(ms: int | float | None) -> str:
    """Milliseconds as "3 d 4 h", "9 h 32 min", "45 min", "< 1 min" or "0 min"; "—" for none."""
    if ms is None:
        return NONE
    seconds = int(ms) // 1000
    if seconds <= 0:
        return "0 min"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days:,} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return "< 1 min"
