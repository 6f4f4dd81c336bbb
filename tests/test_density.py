"""Headline Density slots: sizes, zones, DST days, empty windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from lib.density import density, slot_size
from lib.model import Headline

LONDON = ZoneInfo("Europe/London")


def at(moment: datetime) -> Headline:
    return Headline("t", None, "p", None, moment, "s", moment.isoformat())


def test_slot_size_follows_the_window() -> None:
    assert slot_size(timedelta(days=1)) == timedelta(hours=1)
    assert slot_size(timedelta(days=3)) == timedelta(hours=3)
    assert slot_size(timedelta(days=7)) == timedelta(hours=6)


def test_counts_land_in_their_slots_and_add_up() -> None:
    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    items = [at(now - timedelta(hours=h)) for h in (0.1, 0.2, 5, 30, 100, 24 * 8)]
    slots = density(items, now, LONDON, timedelta(days=7))
    assert sum(s.count for s in slots) == 5  # the 8-day-old one is outside the window
    assert all(s.end - s.start == timedelta(hours=6) for s in slots)
    # Slots start at local 00/06/12/18 in London.
    assert {s.start.astimezone(LONDON).hour for s in slots} == {0, 6, 12, 18}
    newest = slots[-1]
    assert newest.start <= now < newest.end and newest.count == 2


def test_an_empty_window_has_only_empty_slots() -> None:
    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    slots = density([], now, UTC, timedelta(days=1))
    assert len(slots) in (24, 25) and all(s.count == 0 for s in slots)


def test_dst_change_day_keeps_local_hours() -> None:
    # Clocks went back in London at 02:00 BST on 27 Oct 2024: that day has 25 hours.
    now = datetime(2024, 10, 28, 0, 0, tzinfo=UTC)
    slots = density([], now, LONDON, timedelta(days=2))
    starts = [s.start.astimezone(LONDON) for s in slots]
    day = [s for s in starts if s.date() == datetime(2024, 10, 27).date()]
    assert len(day) == 25  # 01:00 happens twice
    assert all((b.start - a.start) == timedelta(hours=1) for a, b in pairwise(slots))
