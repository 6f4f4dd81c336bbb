"""Times that come from outside (a link, a cookie, the environment), read at the boundary.

Python's datetimes end at years 1 and 9999, and a zone conversion or a step back of seven
days near either end raises OverflowError, which no caller expects. So a time from outside
is read here without ever raising, and is *usable* only between `EARLIEST` and `LATEST`:
far enough from both ends that everything the page does with it (convert to any zone,
subtract the 7-day window, step through slots) stays inside the calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # the store counts POSIX seconds
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive: a year short of the calendar's end
_ISO_TEXT_LIMIT = 64  # characters; an ISO time is short, a longer text is not one


def read_iso_time(text: object) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime, or None when it cannot be one.

    A time without an offset is UTC. Never raises: not text, too long, unreadable, or an
    instant outside Python's calendar once converted to UTC (0001-01-01T00:00+14:00) all
    give None. The result may still lie outside the usable range: see `usable`.
    """
    if not isinstance(text, str) or len(text) > _ISO_TEXT_LIMIT:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def usable(moment: datetime) -> bool:
    """Whether an aware time lies where the page's time arithmetic cannot overflow."""
    return moment.tzinfo is not None and EARLIEST <= moment < LATEST
