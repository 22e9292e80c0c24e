"""Charts read at a glance in a real browser: on a phone (390 px) and a wide screen (1400 px),
every label of every chart on the overview, /when/, /habits/ and an artist's page is at least
11 px tall on screen and inside its card, the category labels shown never overlap, and every
heatmap has its legend. (Whether the page as a whole fits a phone is the layout's test.) Screenshots go to test-artifacts/charts/."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from scrobbler.models import Album, Artist
from tests.e2e.conftest import screenshot, sign_in_page
from tests.e2e.test_dashboard_in_browser import SETTLED, listens_write, track, user
from tests.processes import process_env, web_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MIN_TEXT_PX = 11
# Every label drawn: the SVG's <text> elements shown at this width, and the HTML around them
# (axis titles, legends). Its on-screen height, and for the SVG's the font size times the scale
# (1, as the SVG has no viewBox; measured in case one comes back).
CHART_TEXT = """() => {
  const shown = (el) => getComputedStyle(el).display !== 'none' && el.getClientRects().length;
  const svg = [...document.querySelectorAll('.chart svg text')].filter(shown).map((text) => {
    const box = text.getBoundingClientRect();
    const card = (text.closest('.dash-section') ?? text.closest('.chart')).getBoundingClientRect();
    const matrix = text.getScreenCTM();
    const scale = Math.hypot(matrix.a, matrix.b);
    return {chart: text.closest('.chart').id, text: text.textContent, left: box.left,
            right: box.right, top: Math.round(box.top), height: box.height,
            size: parseFloat(getComputedStyle(text).fontSize) * scale,
            anchor: text.closest('[text-anchor]')?.getAttribute('text-anchor') ?? 'start',
            inside: box.left >= card.left - 1 && box.right <= card.right + 1};
  });
  const html = [...document.querySelectorAll(
    '.chart figcaption, .chart-y-title, .chart-x-title, .chart-legend span')].filter(shown)
    .map((el) => ({chart: el.closest('.chart').id, text: el.textContent.trim(),
                   size: parseFloat(getComputedStyle(el).fontSize)}));
  return {svg, html};
}"""
PAGES = ("overview", "when", "habits", "artist")


def seed() -> tuple[Any, int]:
    """Alice with ~1,500 listens of 24 tracks over 14 months ending now, at her local evening and
    morning hours; returns her and one artist's id."""
    alice = user("alice", time_zone="Europe/Berlin")
    artists = [
        Artist.objects.create(uri=f"spotify:artist:{i}", name=f"Artist {i}") for i in range(4)
    ]
    album = Album.objects.create(uri="spotify:album:1", name="Album")
    tracks = [track(n, f"Song {n}", album, [artists[n % 4]]) for n in range(24)]
    rng = random.Random(20)
    now = timezone.now()
    listens = {}
    for days_ago in range(430):
        for _ in range(rng.choice((0, 1, 3, 5, 8))):
            hours = rng.choice((2, 3, 9, 10, 14))
            ended = now - dt.timedelta(days=days_ago, hours=hours, seconds=rng.randrange(3600))
            listens[ended] = (rng.choice(tracks), ended, rng.choice((200_000, 200_000, 20_000)))
    listens_write(alice, list(listens.values()))
    return alice, artists[0].pk


def look(page: Any, name: str) -> None:
    """Every label on the page is big enough, no two shown category labels of a chart overlap,
    every heatmap has a legend; then a screenshot."""
    page.wait_for_function(SETTLED)
    found = page.evaluate(CHART_TEXT)
    assert len(found["svg"]) > 10, name
    for label in found["svg"]:
        assert label["height"] >= MIN_TEXT_PX, (name, label)
        assert label["size"] >= MIN_TEXT_PX, (name, label)
        assert label["inside"], (name, label)  # within its card, not spilling out
    for label in found["html"]:
        assert label["size"] >= MIN_TEXT_PX, (name, label)
    rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for label in found["svg"]:
        if label["anchor"] != "end":  # row and tick labels stack vertically; these run along
            rows.setdefault((label["chart"], label["top"]), []).append(label)
    for row in rows.values():
        row.sort(key=lambda label: label["left"])
        for a, b in itertools.pairwise(row):
            assert a["right"] <= b["left"], (name, a["text"], b["text"])
    for chart in page.locator(".chart-heatmap, .chart-calendar").all():
        assert chart.locator(".chart-legend .chart-swatch").count() >= 2, name
    screenshot(page, f"charts/{name}")


def test_chart_labels_are_at_least_11_px_on_a_phone_and_a_wide_screen(
    tmp_path: Path, static_root: Path, browser_page: Any
) -> None:
    _, artist = seed()
    page = browser_page
    urls = {
        "overview": "/",
        "when": "/when/",
        "habits": "/habits/",
        "artist": f"/artists/{artist}/",
    }
    with web_server(process_env(tmp_path, static_root), tmp_path / "web.log") as base:
        sign_in_page(page, base, "alice")
        for width in (390, 1400):
            page.set_viewport_size({"width": width, "height": 900})
            for theme in ("light", "dark"):
                page.goto(f"{base}/?range=year")  # a longer range: more labels to fit
                # (On a phone the theme picker is folded into the menu: the cookie it sets.)
                page.context.add_cookies([{"name": "theme", "value": theme, "url": base}])
                for name in PAGES:
                    page.goto(base + urls[name])  # the year is remembered
                    look(page, f"{name}-{width}-{theme}")
        # A short range on a wide screen: the calendar's days stay near square, not long bars.
        page.goto(f"{base}/when/?range=30d")
        page.wait_for_function(SETTLED)
        cells = page.evaluate(
            """[...document.querySelectorAll('.chart-calendar rect')].map((cell) => {
                 const box = cell.getBoundingClientRect(); return [box.width, box.height]; })"""
        )
        assert len(cells) >= 30
        assert all(width <= 2 * height for width, height in cells), cells[:3]
        # Days, weeks and months on the activity chart, on a phone.
        page.set_viewport_size({"width": 390, "height": 900})
        for range_key in ("30d", "all"):
            page.goto(f"{base}/when/?range={range_key}")
            look(page, f"when-{range_key}-390")
