"""The dashboard's query strings, one form per kind of page (see ops.query): the range control's
`range`/`from`/`to` (bad ones fall back to the default range with a message, in dashboard.views),
the activity chart's `step` and the tops' `order` (unknown: the default), `page` (corrected, see
QueryPage) and the recent plays' `before` (an impossible datetime is a 400)."""

from __future__ import annotations

from django import forms

from dashboard.stats.activity import STEPS
from dashboard.stats.tops import TOP_ORDERS
from ops.query import QueryChoice, QueryDateTime, QueryPage, QueryText


class PeriodQuery(forms.Form):
    range = QueryText(max_length=40)
    # Field names as the range control's form sends them.
    locals()["from"] = QueryText(max_length=40)
    to = QueryText(max_length=40)


class SectionQuery(PeriodQuery):
    step = QueryChoice(choices=STEPS)


class TopQuery(PeriodQuery):
    order = QueryChoice(choices=TOP_ORDERS, default="plays")
    page = QueryPage()


class RecentQuery(forms.Form):
    before = QueryDateTime()
