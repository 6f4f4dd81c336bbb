"""Headline Density: how many headlines fall in each time slot of the window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from lib.model import Headline

_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Slot:
    """One time slot of the chart: [start, end) in UTC, and its headline count."""

    start: datetime
    end: datetime
    count: int


def slot_size(span: timedelta) -> timedelta:
    """The slot size for a window of `span`: hourly up to two days, coarser beyond."""
    if span <= timedelta(days=2):
        return timedelta(hours=1)
    if span <= timedelta(days=4):
        return timedelta(hours=3)
    return timedelta(hours=6)


def _floor(moment: datetime, size: timedelta, zone: tzinfo) -> datetime:
    """The start of the slot holding `moment`, aligned to local hours in `zone`."""
    local = moment.astimezone(zone)
    if size <= _HOUR:
        # Keeps `fold`, so the repeated hour of a DST change is its own slot.
        return local.replace(minute=0, second=0, microsecond=0).astimezone(moment.tzinfo)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    steps = (local.replace(tzinfo=None) - midnight.replace(tzinfo=None)) // size
    # Wall-clock arithmetic, so slots line up with local hours on DST change days too.
    wall = midnight.replace(tzinfo=None) + steps * size
    return wall.replace(tzinfo=zone).astimezone(moment.tzinfo)


def _next(start: datetime, size: timedelta, zone: tzinfo) -> datetime:
    """The start of the slot after the one starting at `start`."""
    if size <= _HOUR:
        return start + size  # aware UTC arithmetic: every hourly slot is one real hour
    # Coarser slots step in wall-clock time, so they stay on local 00/06/12/18 across a DST
    # change (the slot holding the change is an hour longer or shorter).
    local = start.astimezone(zone).replace(tzinfo=None)
    return (local + size).replace(tzinfo=zone).astimezone(start.tzinfo)


def density(
    headlines: Iterable[Headline], now: datetime, zone: tzinfo, span: timedelta
) -> list[Slot]:
    """Counts per slot from `now - span` to `now`, oldest first, empty slots included."""
    size = slot_size(span)
    start = _floor(now - span, size, zone)
    counts: dict[datetime, int] = {}
    for item in headlines:
        if now - span <= item.published <= now + timedelta(minutes=10):
            key = _floor(item.published, size, zone)
            counts[key] = counts.get(key, 0) + 1
    slots = []
    cursor = start
    while cursor <= now:
        following = _next(cursor, size, zone)
        slots.append(Slot(cursor, following, counts.get(cursor, 0)))
        cursor = following
    return slots
