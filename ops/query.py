"""Query parameters: the one way a view reads them.

A view that reads its query string declares a Django form for it with `@query_form(Form)`
(innermost, so that `require_GET`/`login_required` copy the declaration onto the view they
wrap); the form parses `request.GET` before the view runs and the view reads the cleaned values
with `query_of(request)`. A value no page would make (an impossible date) answers a 400 page
naming the parameter; a value where a corrected view is friendlier (a page number past the end,
an unknown sort order) is corrected by its field. `tests/ops/test_query.py` fails when a view
reads `request.GET` by hand, and throws random values at every declared field of every URL.

Fields here are lenient where the brief allows and strict where a wrong answer would mislead:
- `QueryText`: control characters (NUL breaks PostgreSQL) are removed, length is capped.
- `QueryPage`: anything not a positive number is page 1; huge numbers are capped (no overflow).
- `QueryChoice`: an unknown value is the field's default.
- `QueryDateTime`: ISO 8601 as the pages write it; impossible dates and offsets are a 400."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime

# Beyond it SQL OFFSETs stay far inside 64 bits for any page size; no list has so many pages.
MAX_PAGE = 1_000_000
# C0 controls and DEL (C1 too): NUL breaks PostgreSQL, the rest are never meant.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Datetimes the database stores and converts (any offset) without leaving datetime's range.
_FIRST_YEAR, _LAST_YEAR = 1970, 9998

View = TypeVar("View", bound=Callable[..., Any])


class QueryText(forms.CharField):
    """Free text: stripped, control characters removed, at most `max_length` characters kept
    (a longer value is cut rather than refused: a pasted search is still a search)."""

    def __init__(self, *, max_length: int = 200, **kwargs: Any) -> None:
        self.cut_at = max_length
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> str:
        text = _CONTROL.sub("", str(value or ""))
        return str(super().to_python(text))[: self.cut_at].strip()


class QueryPage(forms.Field):
    """A page number: 1 when missing or not a positive whole number, at most MAX_PAGE. Views
    that page with Paginator.get_page also land past-the-end numbers on the last page."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> int:
        text = str(value or "").strip()
        if not text.isascii() or not text.isdigit():
            return 1
        if len(text) > len(str(MAX_PAGE)):
            return MAX_PAGE
        return min(max(1, int(text)), MAX_PAGE)


class QueryChoice(forms.Field):
    """One of `choices`; anything else (or nothing) is `default`."""

    def __init__(self, *, choices: Any, default: str = "", **kwargs: Any) -> None:
        self.allowed = frozenset(str(choice) for choice in choices)
        self.fallback = default
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> str:
        return value if isinstance(value, str) and value in self.allowed else self.fallback


class QueryDateTime(forms.Field):
    """An ISO 8601 datetime, as `datetime.isoformat()` writes it (with or without an offset);
    empty is None. Impossible ones (February 30, month 13, hour 25, offset +99:00) and years
    outside 1970-9998 are refused."""

    default_error_messages = {
        "invalid": "Give a date and time like 2024-01-31T18:30:00+00:00.",
        "range": f"Give a date and time between {_FIRST_YEAR} and {_LAST_YEAR}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> datetime | None:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            parsed = parse_datetime(text)  # ValueError: well formed but impossible
        except ValueError:
            parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if not _FIRST_YEAR <= parsed.year <= _LAST_YEAR:
            raise forms.ValidationError(self.error_messages["range"], code="range")
        return parsed


class PageQuery(forms.Form):
    """A paged list's only parameter."""

    page = QueryPage()


def query_form(form_class: type[forms.Form]) -> Callable[[View], View]:
    """Parse the view's query string with `form_class` before it runs: invalid answers a 400
    page naming what was wrong; valid leaves the cleaned data for `query_of(request)`. The view
    gets `query_form` set to the class, which tests use to find every parameter."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            form = form_class(request.GET)
            if not form.is_valid():
                return bad_query(request, form)
            request.query = form.cleaned_data  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        wrapper.query_form = form_class  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def query_of(request: HttpRequest) -> dict[str, Any]:
    """The cleaned query parameters of a view declared with `@query_form`."""
    try:
        return request.query  # type: ignore[attr-defined]
    except AttributeError:
        raise RuntimeError("The view reads query parameters without @query_form") from None


def bad_query(request: HttpRequest, form: forms.Form) -> HttpResponse:
    """The 400 page for a query string no page of ours makes."""
    problems = [
        (name, str(message)) for name, messages in form.errors.items() for message in messages
    ]
    return render(request, "bad_query.html", {"problems": problems}, status=400)
