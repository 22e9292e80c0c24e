"""HTTP byte ranges (RFC 9110 section 14): which bytes of a file a `Range` header asks for, and the
multipart/byteranges framing that answers several ranges at once. Pure: no Django, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# A range-spec: `first-last`, `first-` or the suffix `-length`; digits are ASCII only (Python's int()
# would also take other scripts' digits, signs and underscores).
_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")
# 1 to 70 characters that RFC 2046 allows in a boundary and that need no quoting in Content-Type.
_BOUNDARY = re.compile(r"[0-9A-Za-z'+_.-]{1,70}")
# Positions longer than this many digits are beyond any file (and int() refuses very long strings).
_MAX_DIGITS = 30


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start` to `end` of a file, both included."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        """The value of Content-Range for this range of a file of `size` bytes."""
        return f"bytes {self.start}-{self.end}/{size}"


@dataclass(frozen=True)
class WholeFile:
    """No range to honour (no header, another unit, or a header that does not parse): 200 with
    the whole file."""


@dataclass(frozen=True)
class Partial:
    """206 with these ranges: in ascending order, none overlapping or touching another."""

    ranges: tuple[ByteRange, ...]


@dataclass(frozen=True)
class Unsatisfiable:
    """416: no range overlaps the file, or the request asked for too many ranges."""


RangeAnswer = WholeFile | Partial | Unsatisfiable


def byte_ranges(header: str | None, size: int, *, max_ranges: int) -> RangeAnswer:
    """What a `Range` header asks of a file of `size` bytes.

    - No header, a unit other than `bytes` (case-insensitive) or anything that does not parse
      (including `first-last` with last < first): `WholeFile`, as RFC 9110 lets servers ignore
      such headers. Whitespace around the range-specs and empty list elements are accepted.
    - More than `max_ranges` range-specs: `Unsatisfiable`, a refusal (416) rather than a cue to
      send the whole file, so a header of thousands of tiny ranges costs its sender, not us.
    - Otherwise the satisfiable ranges, clamped to the file, sorted and with overlapping or
      adjacent ones merged (RFC 9110 allows it; it also defeats many-overlapping-ranges abuse):
      `Partial` if any, else `Unsatisfiable`. A range is satisfiable if it starts inside the file
      (`first-`, `first-last`) or is a suffix of non-zero length (`-length`: the last `length`
      bytes, the whole file if it is shorter).
    - An empty file has no bytes to give a range of: a non-zero suffix gives `WholeFile` (an empty
      200), anything else `Unsatisfiable`."""
    specs = _parse(header)
    if specs is None:
        return WholeFile()
    if len(specs) > max_ranges:
        return Unsatisfiable()
    ranges: list[ByteRange] = []
    wants_empty_suffix = False
    for spec in specs:
        if isinstance(spec, int):  # a suffix of that length
            if spec == 0:
                continue
            if size == 0:
                wants_empty_suffix = True
                continue
            ranges.append(ByteRange(max(0, size - spec), size - 1))
        else:
            first, last = spec
            if first < size:
                ranges.append(ByteRange(first, size - 1 if last is None else min(last, size - 1)))
    if not ranges:
        return WholeFile() if wants_empty_suffix else Unsatisfiable()
    return Partial(coalesce(ranges))


def coalesce(ranges: Sequence[ByteRange]) -> tuple[ByteRange, ...]:
    """The same bytes as `ranges`, as few ranges as possible in ascending order."""
    merged: list[ByteRange] = []
    for current in sorted(ranges, key=lambda r: (r.start, r.end)):
        if merged and current.start <= merged[-1].end + 1:
            if current.end > merged[-1].end:
                merged[-1] = ByteRange(merged[-1].start, current.end)
        else:
            merged.append(current)
    return tuple(merged)


def _parse(header: str | None) -> list[tuple[int, int | None] | int] | None:
    """The range-specs of a bytes Range header, each a (first, last) pair (last None: to the end)
    or the length of a suffix; None if there is no such header or it is invalid."""
    if header is None:
        return None
    unit, equals, range_set = header.strip(" \t").partition("=")
    if not equals or not unit.isascii() or unit.lower() != "bytes":
        return None
    specs: list[tuple[int, int | None] | int] = []
    for element in range_set.split(","):
        element = element.strip(" \t")
        if not element:
            continue
        match = _SPEC.fullmatch(element)
        if match is None:
            return None
        first, last, suffix = match.groups()
        if suffix is not None:
            specs.append(_number(suffix))
            continue
        start = _number(first)
        end = _number(last) if last else None
        if end is not None and end < start:
            return None
        specs.append((start, end))
    return specs or None


def _number(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return 10**_MAX_DIGITS if len(digits) > _MAX_DIGITS else int(digits)


@dataclass(frozen=True)
class Multipart:
    """A multipart/byteranges body, framed in advance: each part is its `heads[i]` followed by the
    bytes of `ranges[i]`, and the body ends with `trailer`. `content_length` counts all of it."""

    content_type: str
    heads: tuple[bytes, ...]
    ranges: tuple[ByteRange, ...]
    trailer: bytes
    content_length: int


def multipart_byteranges(
    ranges: Sequence[ByteRange], *, size: int, content_type: str, boundary: str
) -> Multipart:
    """The framing of a 206 answering several ranges of a file of `size` bytes whose own type is
    `content_type` (RFC 9110 section 14.6). `boundary` must be a valid MIME boundary that appears
    nowhere in the file's bytes: a long random one."""
    if _BOUNDARY.fullmatch(boundary) is None:
        raise ValueError(f"not a MIME boundary: {boundary!r}")
    heads = tuple(
        (
            ("\r\n" if index else "")
            + f"--{boundary}\r\nContent-Type: {content_type}\r\n"
            + f"Content-Range: {byte_range.content_range(size)}\r\n\r\n"
        ).encode("ascii")
        for index, byte_range in enumerate(ranges)
    )
    trailer = f"\r\n--{boundary}--\r\n".encode("ascii")
    length = sum(map(len, heads)) + sum(r.length for r in ranges) + len(trailer)
    return Multipart(
        content_type=f"multipart/byteranges; boundary={boundary}",
        heads=heads,
        ranges=tuple(ranges),
        trailer=trailer,
        content_length=length,
    )
