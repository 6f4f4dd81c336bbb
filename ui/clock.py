"""The one place the page reads the wall clock (NEWS_CLOCK fixes it for demos and tests)."""

from __future__ import annotations

from datetime import UTC, datetime

from lib.config import Settings


def now(settings: Settings) -> datetime:
    """The current time as an aware UTC datetime."""
    return settings.clock or datetime.now(UTC)
