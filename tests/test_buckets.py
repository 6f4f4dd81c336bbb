"""Recency buckets and the seed's time formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as hyp

from lib.buckets import BUCKETS, Bucket, bucketer, format_clock, format_headline_time

LONDON = ZoneInfo("Europe/London")
# The seed page's clock: 18 Sep 2024 04:22 in London (BST, UTC+1).
SEED_NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)


def bucket_of(published: datetime, now: datetime, zone: tzinfo) -> Bucket | None:
    """One headline's bucket: `bucketer` used once, as the tests ask about single times."""
    return bucketer(now, zone)(published)


def london(text: str) -> datetime:
    """A seed time such as '15:21 17-Sep-24' read in London, as UTC."""
    return datetime.strptime(text, "%H:%M %d-%b-%y").replace(tzinfo=LONDON).astimezone(UTC)


def test_headings_in_page_order() -> None:
    assert [b.heading for b in BUCKETS] == [
        "In the last half-hour",
        "In the last hour",
        "In the last 2 hours",
        "In the last 4 hours",
        "Earlier today",
        "Yesterday",
        "In the last 7 days",
    ]


@pytest.mark.parametrize(
    ("seed_time", "bucket"),
    [
        ("15:21 17-Sep-24", Bucket.YESTERDAY),
        ("05:00 17-Sep-24", Bucket.YESTERDAY),
        ("00:02 17-Sep-24", Bucket.YESTERDAY),
        ("10:28 16-Sep-24", Bucket.WEEK),
        ("17:33 12-Sep-24", Bucket.WEEK),
    ],
)
def test_seed_headlines_fall_in_the_seed_buckets(seed_time: str, bucket: Bucket) -> None:
    assert bucket_of(london(seed_time), SEED_NOW, LONDON) is bucket


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (timedelta(minutes=-5), Bucket.HALF_HOUR),  # a little ahead of the clock
        (timedelta(0), Bucket.HALF_HOUR),
        (timedelta(minutes=29, seconds=59), Bucket.HALF_HOUR),
        (timedelta(minutes=30), Bucket.HOUR),
        (timedelta(minutes=59), Bucket.HOUR),
        (timedelta(hours=1), Bucket.TWO_HOURS),
        (timedelta(hours=2), Bucket.FOUR_HOURS),
        (timedelta(hours=3, minutes=59), Bucket.FOUR_HOURS),
    ],
)
def test_recent_buckets_go_by_age(age: timedelta, bucket: Bucket) -> None:
    now = datetime(2024, 9, 18, 15, 0, tzinfo=UTC)
    assert bucket_of(now - age, now, LONDON) is bucket


def test_earlier_today_and_yesterday_follow_the_display_zone() -> None:
    now = datetime(2024, 9, 18, 15, 0, tzinfo=UTC)  # 16:00 in London
    assert bucket_of(datetime(2024, 9, 18, 8, 0, tzinfo=UTC), now, LONDON) is Bucket.EARLIER_TODAY
    # 23:30 UTC on the 17th is 00:30 on the 18th in London: today there, yesterday in UTC.
    late = datetime(2024, 9, 17, 23, 30, tzinfo=UTC)
    assert bucket_of(late, now, LONDON) is Bucket.EARLIER_TODAY
    assert bucket_of(late, now, ZoneInfo("UTC")) is Bucket.YESTERDAY


def test_older_than_seven_days_has_no_bucket() -> None:
    assert bucket_of(SEED_NOW - timedelta(days=7), SEED_NOW, LONDON) is None
    assert bucket_of(SEED_NOW - timedelta(days=6, hours=23), SEED_NOW, LONDON) is Bucket.WEEK


def test_formats_match_the_seed() -> None:
    assert format_headline_time(london("15:21 17-Sep-24"), LONDON) == "15:21 17-Sep-24"
    assert format_headline_time(london("00:02 17-Sep-24"), LONDON) == "00:02 17-Sep-24"
    assert format_clock(SEED_NOW, LONDON) == "18 Sep 04:22"
    assert format_clock(SEED_NOW, ZoneInfo("UTC")) == "18 Sep 03:22"


def reference_bucket_of(published: datetime, now: datetime, zone) -> Bucket | None:
    """The rule as the seed states it, one conversion per headline (what bucketer must match)."""
    age = now - published
    for limit, bucket in ((30, Bucket.HALF_HOUR), (60, Bucket.HOUR), (120, Bucket.TWO_HOURS),
                          (240, Bucket.FOUR_HOURS)):  # fmt: skip
        if age < timedelta(minutes=limit):
            return bucket
    if age >= timedelta(days=7):
        return None
    today = now.astimezone(zone).date()
    day = published.astimezone(zone).date()
    if day == today:
        return Bucket.EARLIER_TODAY
    if day == today - timedelta(days=1):
        return Bucket.YESTERDAY
    return Bucket.WEEK


ZONES = ["Europe/London", "UTC", "America/Santiago", "Asia/Tehran", "Pacific/Apia",
         "America/Havana", "Australia/Lord_Howe", "Asia/Kolkata"]  # fmt: skip


@given(
    now=hyp.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=hyp.just(UTC)),
    back=hyp.integers(-600, 8 * 86_400),
    zone=hyp.sampled_from(ZONES),
)
def test_bucketer_follows_the_rule_on_every_day(now: datetime, back: int, zone: str) -> None:
    """Including days a clock change skips or repeats midnight (Santiago, Havana, Apia)."""
    published = now - timedelta(seconds=back)
    tz = ZoneInfo(zone)
    assert bucket_of(published, now, tz) is reference_bucket_of(published, now, tz)


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/Santiago", datetime(2024, 9, 8, tzinfo=UTC)),  # midnight skipped
        ("America/Santiago", datetime(2024, 4, 7, tzinfo=UTC)),  # midnight repeated
        ("America/Havana", datetime(2024, 3, 10, tzinfo=UTC)),
        ("America/Havana", datetime(2024, 11, 3, tzinfo=UTC)),
        ("Europe/London", datetime(2024, 3, 31, tzinfo=UTC)),
        ("Europe/London", datetime(2024, 10, 27, tzinfo=UTC)),
    ],
)
def test_bucketer_around_clock_changes(zone: str, day: datetime) -> None:
    tz = ZoneInfo(zone)
    for step in range(0, 3 * 24 * 60, 20):  # `now` every 20 minutes over three days
        now = day - timedelta(days=1) + timedelta(minutes=step)
        for back in range(-30, 4 * 24 * 60, 37):
            published = now - timedelta(minutes=back)
            assert bucket_of(published, now, tz) is reference_bucket_of(published, now, tz)
