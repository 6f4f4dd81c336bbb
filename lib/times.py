"""The project's time vocabulary: the window, month names, ISO 8601 read and written.

Inside, every time is an aware UTC datetime, and the clock is read only at the edge
(`ui/clock.py`, the refresher's loop); lib/ functions take `now`.

Times that come from outside (a link, a cookie, the environment) are read at the boundary.

Python's datetimes end at years 1 and 9999, and a zone conversion or a step back of seven
days near either end raises OverflowError, which no caller expects. So a time from outside
is read here without ever raising, and is *usable* only between `EARLIEST` and `LATEST`:
far enough from both ends that everything the page does with it (convert to any zone,
subtract the 7-day window, step through slots) stays inside the calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# How far back the page looks: the headline list, the chart, the feeds and what the store keeps.
WINDOW = timedelta(days=7)
# English month abbreviations, as the page writes dates ("15:21 17-Sep-24", "17 Sep 15:21").
MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
# ISO 8601 in UTC with a "Z", to the second: links, cookies, feeds, the chart's data.
ISO_Z = "%Y-%m-%dT%H:%M:%SZ"
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # the store counts POSIX seconds
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive: a year short of the calendar's end
_ISO_TEXT_LIMIT = 64  # characters; an ISO time is short, a longer text is not one


def iso_z(moment: datetime) -> str:
    """An aware time as ISO 8601 in UTC with a "Z" (`2024-09-18T04:22:00Z`): no quotes, no
    spaces, so it fits a cookie, a link or an attribute as it is."""
    return moment.astimezone(UTC).strftime(ISO_Z)


def read_iso_time(text: object, *, naive_is_utc: bool = True) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime, or None when it cannot be one.

    A time without an offset is UTC (None instead with `naive_is_utc=False`). Never raises:
    not text, too long, unreadable, or an instant outside Python's calendar once converted
    to UTC (0001-01-01T00:00+14:00) all give None. The result may still lie outside the
    usable range: see `usable`.
    """
    if not isinstance(text, str) or len(text) > _ISO_TEXT_LIMIT:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC) if naive_is_utc else None
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def usable(moment: datetime) -> bool:
    """Whether an aware time lies where the page's time arithmetic cannot overflow."""
    return moment.tzinfo is not None and EARLIEST <= moment < LATEST


def read_iso_wall(text: object) -> datetime | None:
    """The naive wall-clock time an ISO 8601 text writes, its offset dropped, not applied
    (a chart library labels wall-clock times UTC); None when unreadable. Never raises."""
    if not isinstance(text, str) or len(text) > _ISO_TEXT_LIMIT:
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=None)
    except ValueError:
        return None
