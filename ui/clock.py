"""The one place the page reads the wall clock (NEWS_CLOCK fixes the displayed time)."""

from __future__ import annotations

from datetime import UTC, datetime

from lib.config import Settings


def now(settings: Settings) -> datetime:
    """The time the page shows, as an aware UTC datetime: NEWS_CLOCK when set."""
    return settings.clock or real_now()


def real_now() -> datetime:
    """The wall clock, whatever NEWS_CLOCK says: what the store keeps is decided by it."""
    return datetime.now(UTC)
