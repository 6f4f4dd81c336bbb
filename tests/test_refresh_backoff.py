"""Backoff arithmetic with values from outside: a server's endless Retry-After, and a feed
that has failed for days. Both once raised OverflowError and stopped the whole refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lib.fetch import FetchLimits
from lib.model import Source, Topic
from lib.refresh import BACKOFF_MAX, MAX_RETRY_AFTER, refresh_topic, retry_time
from lib.store import Store
from lib.storedb import Address
from support.feeds import Item, rss
from support.feedserver import FeedServer

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
LIMITS = FetchLimits(deadline=3)


def test_a_feed_failing_for_days_keeps_backing_off(
    feed_server: FeedServer, store_address: Address
) -> None:
    store = Store(store_address)
    dead = Source("Dead", feed_server.url("/dead.xml"), topical=True)
    live = Source("Live", feed_server.url("/live.xml"), topical=True)
    topic = Topic("t", "T", "", "x", "UTC", (dead, live))
    feed_server.route("/dead.xml", b"down", status=500)
    t = NOW
    for _ in range(60):  # days of asking a dead host, each time its backoff ends
        feed_server.route("/live.xml", rss([Item(f"News at {t:%d %H:%M}", t)]))
        report = refresh_topic(topic, store, t, LIMITS)
        dead_report, live_report = report.sources
        assert live_report.ok and "HTTP 500" in (dead_report.error or "")
        asked_at, t = t, dead_report.waiting_until or t
    assert t == asked_at + BACKOFF_MAX
    assert store.feed_states([dead.url])[dead.url].failures == 60
    assert feed_server.hits("/dead.xml") == 60


def test_retry_time_stays_inside_its_caps() -> None:
    for failures in (2, 49, 10**6):
        assert retry_time(failures, 500, None, NOW) == NOW + min(
            BACKOFF_MAX, timedelta(minutes=5) * 2 ** min(failures - 2, 10)
        )
    for seconds in (1e20, float("inf"), 10**400):
        assert retry_time(1, 429, seconds, NOW) == NOW + MAX_RETRY_AFTER
    assert retry_time(1, 429, -5, NOW) == NOW
