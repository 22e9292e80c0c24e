"""Range parsing (RFC 9110 section 14) checked exhaustively against a byte-set model: which bytes a
header asks for, whatever its shape, and the multipart/byteranges framing of several ranges."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from playback.media import (
    ByteRange,
    Partial,
    Unsatisfiable,
    WholeFile,
    byte_ranges,
    coalesce,
    multipart_byteranges,
)

MAX = 16

sizes = st.integers(min_value=0, max_value=300)
positions = st.integers(min_value=0, max_value=400)
# A spec as the model sees it: ("int", first, last or None) or ("suffix", length).
int_specs = st.tuples(st.just("int"), positions, st.none() | positions).filter(
    lambda spec: spec[2] is None or spec[2] >= spec[1]
)
suffix_specs = st.tuples(st.just("suffix"), positions)
specs = st.one_of(int_specs, suffix_specs)
spaces = st.sampled_from(["", " ", "\t", "  ", " \t"])


def render(spec: tuple) -> str:
    if spec[0] == "suffix":
        return f"-{spec[1]}"
    _, first, last = spec
    return f"{first}-" if last is None else f"{first}-{last}"


@st.composite
def headers(draw: st.DrawFn, spec_list: list[tuple]) -> str:
    """A header for `spec_list`, with the freedom the grammar allows: the unit in any case,
    whitespace around list elements, empty list elements."""
    unit = draw(st.sampled_from(["bytes", "Bytes", "BYTES", "bYtEs"]))
    elements = []
    for spec in spec_list:
        elements.append(draw(spaces) + render(spec) + draw(spaces))
        if draw(st.integers(0, 5)) == 0:
            elements.append(draw(spaces))  # an empty element
    return f"{unit}={','.join(elements)}"


def model(spec_list: list[tuple], size: int) -> set[int]:
    """The byte offsets the specs ask for, one by one."""
    wanted: set[int] = set()
    for spec in spec_list:
        if spec[0] == "suffix":
            wanted |= set(range(max(0, size - spec[1]), size)) if spec[1] else set()
        else:
            _, first, last = spec
            wanted |= set(range(first, size if last is None else min(last + 1, size)))
    return wanted


def covered(ranges: tuple[ByteRange, ...]) -> set[int]:
    return {offset for r in ranges for offset in range(r.start, r.end + 1)}


def assert_canonical(ranges: tuple[ByteRange, ...], size: int) -> None:
    """Within the file, ascending, with a gap between any two."""
    assert ranges
    for r in ranges:
        assert 0 <= r.start <= r.end < size
    for before, after in itertools.pairwise(ranges):
        assert before.end + 1 < after.start


@given(size=sizes, spec_list=st.lists(specs, min_size=1, max_size=MAX), data=st.data())
def test_valid_headers_select_exactly_the_bytes_asked_for(
    size: int, spec_list: list[tuple], data: st.DataObject
) -> None:
    answer = byte_ranges(data.draw(headers(spec_list)), size, max_ranges=MAX)
    wanted = model(spec_list, size)
    if wanted:
        assert isinstance(answer, Partial)
        assert_canonical(answer.ranges, size)
        assert covered(answer.ranges) == wanted
    elif size == 0 and any(s[0] == "suffix" and s[1] > 0 for s in spec_list):
        assert answer == WholeFile()  # the empty file, whole: there is no range of it to give
    else:
        assert answer == Unsatisfiable()


@given(size=sizes, spec_list=st.lists(specs, min_size=MAX + 1, max_size=3 * MAX), data=st.data())
def test_more_ranges_than_the_cap_are_refused_even_when_they_overlap(
    size: int, spec_list: list[tuple], data: st.DataObject
) -> None:
    assert byte_ranges(data.draw(headers(spec_list)), size, max_ranges=MAX) == Unsatisfiable()


def test_the_cap_counts_ranges_not_empty_elements() -> None:
    at_cap = "bytes=" + ",".join(["0-0"] * MAX) + ",,, ,"
    assert byte_ranges(at_cap, 10, max_ranges=MAX) == Partial((ByteRange(0, 0),))
    over = "bytes=" + ",".join(["0-0"] * (MAX + 1))
    assert byte_ranges(over, 10, max_ranges=MAX) == Unsatisfiable()


@given(size=st.integers(1, 10**12), length=st.integers(1, 10**13))
def test_a_suffix_is_the_last_bytes_or_the_whole_file(size: int, length: int) -> None:
    answer = byte_ranges(f"bytes=-{length}", size, max_ranges=MAX)
    assert answer == Partial((ByteRange(max(0, size - length), size - 1),))


@given(size=st.integers(1, 10**12), first=st.integers(0, 10**13))
def test_an_open_range_runs_to_the_end(size: int, first: int) -> None:
    answer = byte_ranges(f"bytes={first}-", size, max_ranges=MAX)
    if first < size:
        assert answer == Partial((ByteRange(first, size - 1),))
    else:
        assert answer == Unsatisfiable()


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 1, Partial((ByteRange(0, 0),))),
        ("bytes=0-", 0, Unsatisfiable()),
        ("bytes=0-0", 0, Unsatisfiable()),
        ("bytes=-1", 0, WholeFile()),  # satisfiable, but an empty file has no range to send
        ("bytes=-0", 0, Unsatisfiable()),
        ("bytes=-0", 10, Unsatisfiable()),
        ("bytes=-0,0-1", 10, Partial((ByteRange(0, 1),))),
        ("bytes=10-", 10, Unsatisfiable()),
        ("bytes=9-", 10, Partial((ByteRange(9, 9),))),
        ("bytes=5-100", 10, Partial((ByteRange(5, 9),))),
        ("bytes=0-4,5-9", 10, Partial((ByteRange(0, 9),))),  # adjacent: one range
        ("bytes=0-3,5-9", 10, Partial((ByteRange(0, 3), ByteRange(5, 9)))),
        ("bytes=5-9,0-3", 10, Partial((ByteRange(0, 3), ByteRange(5, 9)))),
        ("bytes=0-1,-2,20-30", 10, Partial((ByteRange(0, 1), ByteRange(8, 9)))),
        ("bytes=20-30,40-", 10, Unsatisfiable()),
        ("bytes=0-1,1-2,2-3,3-4", 10, Partial((ByteRange(0, 4),))),
        (" bytes=1-2 ", 10, Partial((ByteRange(1, 2),))),
        ("bytes= 1-2 ,\t3-4", 10, Partial((ByteRange(1, 4),))),
        ("bytes=" + "0" * 5000 + "5-6", 10, Partial((ByteRange(5, 6),))),
        ("bytes=0-" + "9" * 5000, 10, Partial((ByteRange(0, 9),))),
        ("bytes=" + "9" * 5000 + "-", 10, Unsatisfiable()),
        ("bytes=-" + "9" * 5000, 10, Partial((ByteRange(0, 9),))),
    ],
)
def test_edge_cases(header: str, size: int, expected: object) -> None:
    assert byte_ranges(header, size, max_ranges=MAX) == expected


GARBAGE = [
    None,
    "",
    "bytes",
    "bytes=",
    "bytes=,",
    "bytes= , ,",
    "items=0-1",
    "bytes 0-1",
    "bytes =0-1",
    "=0-1",
    "0-1",
    "bytes=5-1",  # last before first: invalid, not unsatisfiable
    "bytes=0-1,5-1",
    "bytes=abc",
    "bytes=1-2-3",
    "bytes=--1",
    "bytes=1--2",
    "bytes=-",
    "bytes=0x10-20",
    "bytes=+1-2",
    "bytes=1_0-20",
    "bytes=1 0-20",
    "bytes=\u0663-5",  # an Arabic-Indic three: int() would take it
    "bytes=\uff11-5",  # a fullwidth one
    "byte\u017f=0-1",  # a long s, which casefolds to s
    "bytes=0-1;2-3",
    "bytes=0-1\x00",
    "bytes=0-1\n",
    "bytes=0-1\u00a0",  # a no-break space is not whitespace here
]


@pytest.mark.parametrize("header", GARBAGE)
def test_garbage_means_the_whole_file(header: str | None) -> None:
    assert byte_ranges(header, 1000, max_ranges=MAX) == WholeFile()


@given(
    size=sizes,
    spec_list=st.lists(specs, min_size=1, max_size=MAX - 1),
    junk=st.text(min_size=1).filter(lambda t: re.fullmatch(r"[ \t]*", t) is None),
    where=st.integers(0, MAX),
)
def test_one_bad_element_spoils_the_whole_header(
    size: int, spec_list: list[tuple], junk: str, where: int
) -> None:
    junk = junk.replace(",", "")
    assume(re.fullmatch(r"[ \t]*([0-9]+-[0-9]*|-[0-9]+)?[ \t]*", junk) is None)
    elements = [render(spec) for spec in spec_list]
    elements.insert(min(where, len(elements)), junk)
    assert byte_ranges("bytes=" + ",".join(elements), size, max_ranges=MAX) == WholeFile()


@given(header=st.text(), size=sizes)
@example(header="bytes=" + ",".join(["0-"] * 1000), size=5)
def test_any_header_gives_an_answer_within_the_file(header: str, size: int) -> None:
    answer = byte_ranges(header, size, max_ranges=MAX)
    assert isinstance(answer, WholeFile | Partial | Unsatisfiable)
    if isinstance(answer, Partial):
        assert_canonical(answer.ranges, size)


@given(
    ranges=st.lists(
        st.tuples(positions, st.integers(0, 50)).map(lambda t: ByteRange(t[0], t[0] + t[1])),
        min_size=1,
        max_size=40,
    )
)
def test_coalescing_keeps_exactly_the_bytes_requested(ranges: list[ByteRange]) -> None:
    merged = coalesce(ranges)
    assert covered(merged) == covered(tuple(ranges))
    assert_canonical(merged, 10**6)


def multipart_parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/byteranges body: their headers and bytes."""
    delimiter = b"--" + boundary.encode()
    assert body.startswith(delimiter + b"\r\n")
    closing = b"\r\n" + delimiter + b"--\r\n"
    assert body.endswith(closing)
    parts = []
    for part in body[len(delimiter) + 2 : -len(closing)].split(b"\r\n" + delimiter + b"\r\n"):
        head, blank, data = part.partition(b"\r\n\r\n")
        assert blank
        fields = dict(line.split(": ", 1) for line in head.decode("ascii").split("\r\n"))
        parts.append((fields, data))
    return parts


@st.composite
def file_and_ranges(draw: st.DrawFn) -> tuple[bytes, list[ByteRange]]:
    content = draw(st.binary(min_size=1, max_size=2000))
    offsets = st.integers(0, len(content) - 1)
    pairs = draw(st.lists(st.tuples(offsets, offsets), min_size=2, max_size=MAX))
    return content, [ByteRange(min(pair), max(pair)) for pair in pairs]


@given(
    case=file_and_ranges(),
    boundary=st.from_regex(r"[0-9A-Za-z'+_.-]{1,70}", fullmatch=True),
)
def test_multipart_framing_round_trips(case: tuple[bytes, list[ByteRange]], boundary: str) -> None:
    content, ranges = case
    assume(b"--" + boundary.encode() not in content)
    size = len(content)
    framing = multipart_byteranges(ranges, size=size, content_type="audio/flac", boundary=boundary)
    body = b"".join(
        head + content[r.start : r.end + 1]
        for head, r in zip(framing.heads, framing.ranges, strict=True)
    )
    body += framing.trailer
    assert len(body) == framing.content_length
    assert framing.content_type == f"multipart/byteranges; boundary={boundary}"
    parts = multipart_parts(body, boundary)
    assert len(parts) == len(ranges)
    for (fields, data), r in zip(parts, ranges, strict=True):
        assert fields == {
            "Content-Type": "audio/flac",
            "Content-Range": f"bytes {r.start}-{r.end}/{size}",
        }
        assert data == content[r.start : r.end + 1]


@pytest.mark.parametrize("boundary", ["", "a b", "a;b", 'a"b', "a/b", "x" * 71, "\u00e9"])
def test_a_boundary_that_would_need_quoting_is_refused(boundary: str) -> None:
    with pytest.raises(ValueError, match="boundary"):
        multipart_byteranges(
            [ByteRange(0, 0), ByteRange(2, 2)], size=3, content_type="audio/flac", boundary=boundary
        )
