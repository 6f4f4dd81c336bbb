"""Recency buckets, as the seed page groups headlines, and the page's time formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import Enum

from lib.times import MONTH_ABBREVIATIONS, WINDOW


class Bucket(Enum):
    """The headings of the page, newest first."""

    HALF_HOUR = "In the last half-hour"
    HOUR = "In the last hour"
    TWO_HOURS = "In the last 2 hours"
    FOUR_HOURS = "In the last 4 hours"
    EARLIER_TODAY = "Earlier today"
    YESTERDAY = "Yesterday"
    WEEK = "In the last 7 days"

    @property
    def heading(self) -> str:
        """The heading as the page shows it."""
        return self.value


BUCKETS: tuple[Bucket, ...] = tuple(Bucket)
_BY_AGE = (
    (timedelta(minutes=30), Bucket.HALF_HOUR),
    (timedelta(hours=1), Bucket.HOUR),
    (timedelta(hours=2), Bucket.TWO_HOURS),
    (timedelta(hours=4), Bucket.FOUR_HOURS),
)


def bucketer(now: datetime, zone: tzinfo) -> Callable[[datetime], Bucket | None]:
    """A function giving a headline's bucket from its time, None when older than 7 days.

    The first four buckets go by age; "Earlier today" and "Yesterday" go by the calendar
    day in the display zone; a time slightly ahead of `now` counts as the newest. The
    bounds are worked out once for this `now` and zone, so placing each of thousands of
    headlines is a few comparisons (no time-zone conversion per headline).
    """
    today = now.astimezone(zone).date()
    # The first instant of today and of yesterday in `zone`; where midnight is skipped by a
    # clock change, the instant the day starts.
    start_today = datetime.combine(today, time(0), tzinfo=zone).astimezone(UTC)
    start_yesterday = datetime.combine(today - timedelta(days=1), time(0), tzinfo=zone)
    start_yesterday = start_yesterday.astimezone(UTC)
    # In UTC, as stored times are: comparing two times of one tzinfo skips utcoffset().
    now = now.astimezone(UTC)
    oldest = now - WINDOW
    by_age = tuple((now - limit, bucket) for limit, bucket in _BY_AGE)

    def of(published: datetime) -> Bucket | None:
        for after, bucket in by_age:
            if published > after:
                return bucket
        if published <= oldest:
            return None
        if published >= start_today:
            return Bucket.EARLIER_TODAY
        if published >= start_yesterday:
            return Bucket.YESTERDAY
        return Bucket.WEEK

    return of


def format_headline_time(moment: datetime, zone: tzinfo) -> str:
    """A headline's time as the seed shows it: `15:21 17-Sep-24`, in `zone`."""
    local = moment.astimezone(zone)
    return f"{local:%H:%M} {local.day:02d}-{MONTH_ABBREVIATIONS[local.month - 1]}-{local:%y}"


def format_clock(moment: datetime, zone: tzinfo) -> str:
    """The page clock as the seed shows it: `18 Sep 04:22`, in `zone`."""
    local = moment.astimezone(zone)
    return f"{local.day} {MONTH_ABBREVIATIONS[local.month - 1]} {local:%H:%M}"


def format_moment(moment: datetime, zone: tzinfo) -> str:
    """A time for notices: `14:02` today-ish, with the date when it is not obvious."""
    local = moment.astimezone(zone)
    return f"{local:%H:%M} {local.day} {MONTH_ABBREVIATIONS[local.month - 1]} {local.year}"
