"""The one place the page reads the wall clock (NEWS_CLOCK fixes the displayed time)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lib.buckets import format_clock
from lib.config import Settings
from lib.render import literal_markdown


def now(settings: Settings) -> datetime:
    """The time the page shows, as an aware UTC datetime: NEWS_CLOCK when set."""
    return settings.clock or real_now()


def real_now() -> datetime:
    """The wall clock, whatever NEWS_CLOCK says: what the store keeps is decided by it."""
    return datetime.now(UTC)


def clock_line(moment: datetime, zone: ZoneInfo, snapshot: bool = False) -> str:
    """The page clock as Markdown: "**18 Sep 04:22** · BST (Europe/London)"; with
    `snapshot` (the page shows the bundled snapshot, `moment` its time) it says so, as the
    snapshot's time is not now: "Snapshot of **18 Sep 04:22** · BST (Europe/London)"."""
    abbreviation = moment.astimezone(zone).tzname()
    name = zone.key if abbreviation == zone.key else f"{abbreviation} ({zone.key})"
    lead = "Snapshot of " if snapshot else ""
    return f"{lead}**{format_clock(moment, zone)}** · {literal_markdown(name)}"
