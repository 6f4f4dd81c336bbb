"""One refresh end to end: real server → fetch → parse → real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.fetch import FetchLimits, FetchStatus
from lib.model import Source, Topic
from lib.refresh import refresh_topic, retry_time
from lib.store import Store
from tests.feeds import Item, rss
from tests.feedserver import FeedServer

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
LIMITS = FetchLimits(deadline=3)


def topic_for(server: FeedServer) -> Topic:
    return Topic(
        slug="t",
        title="T",
        about="",
        query="china AND russia",
        timezone="UTC",
        sources=(
            Source("Etag feed", server.url("/etag.xml"), topical=True),
            Source("Plain feed", server.url("/plain.xml"), topical=True),
            Source("Flaky feed", server.url("/flaky.xml"), topical=True),
        ),
    )


def test_new_unchanged_and_failing_sources(feed_server: FeedServer, tmp_path: Path) -> None:
    store = Store(tmp_path / "news.db")
    topic = topic_for(feed_server)
    items = [Item("One", NOW - timedelta(hours=1)), Item("Two", NOW - timedelta(hours=2))]
    feed_server.route("/etag.xml", rss(items), etag='"v1"')
    feed_server.route("/plain.xml", rss([Item("Three", NOW - timedelta(hours=3))]))
    feed_server.route("/flaky.xml", rss([Item("Four", NOW - timedelta(hours=4))]))

    first = refresh_topic(topic, store, NOW, LIMITS)
    assert [r.status for r in first.sources] == [FetchStatus.OK] * 3
    assert [r.new for r in first.sources] == [2, 1, 1]
    assert store.count() == 4

    # Second round: a 304, an identical body (hashed, not parsed), and a failure.
    feed_server.route("/flaky.xml", b"<html>Service Unavailable</html>", status=503)
    later = NOW + timedelta(minutes=5)
    second = refresh_topic(topic, store, later, LIMITS)
    etag, plain, flaky = second.sources
    assert etag.status is FetchStatus.NOT_MODIFIED and etag.http_status == 304
    assert plain.status is FetchStatus.NOT_MODIFIED and not plain.parsed
    assert flaky.status is FetchStatus.FAILED and "HTTP 503" in (flaky.error or "")
    assert second.failed == (flaky,) and not second.unreachable
    headers = [h for path, h in feed_server.requests if path == "/etag.xml"]
    assert headers[-1].get("If-None-Match") == '"v1"'
    # Nothing stored was lost, the failing feed's headline included.
    titles = sorted(h.title for h in store.headlines(later - timedelta(days=7)))
    assert titles == ["Four", "One", "Three", "Two"]
    state = store.feed_states([flaky.source.url])[flaky.source.url]
    assert state.last_success == NOW and state.failing_since == later


def test_html_instead_of_a_feed_is_a_failure_in_words(feed_server, tmp_path: Path) -> None:
    store = Store(tmp_path / "news.db")
    topic = topic_for(feed_server)
    for path in ("/etag.xml", "/plain.xml"):
        feed_server.route(path, rss([Item(path, NOW)]))
    feed_server.route("/flaky.xml", b"<!doctype html><html><body>Login</body></html>",
                      content_type="text/html")  # fmt: skip
    report = refresh_topic(topic, store, NOW, LIMITS)
    (failed,) = report.failed
    assert failed.source.name == "Flaky feed"
    assert "HTML page" in (failed.error or "")


def test_a_dead_network_is_reported_as_unreachable(tmp_path: Path) -> None:
    with FeedServer() as gone:
        url = gone.url("/feed.xml")
    topic = Topic("t", "T", "", "x", "UTC", (Source("Dead", url),))
    report = refresh_topic(topic, Store(tmp_path / "news.db"), NOW, LIMITS)
    assert report.unreachable and not report.any_ok
    assert "connection refused" in (report.sources[0].error or "")


def test_retry_after_is_honoured_and_failures_back_off(feed_server, tmp_path: Path) -> None:
    store = Store(tmp_path / "news.db")
    source = Source("Busy", feed_server.url("/busy.xml"), topical=True)
    topic = Topic("t", "T", "", "x", "UTC", (source,))
    feed_server.route("/busy.xml", b"slow down", status=429, headers={"Retry-After": "120"})
    first = refresh_topic(topic, store, NOW, LIMITS)
    assert first.sources[0].waiting_until == NOW + timedelta(seconds=120)
    # Within the two minutes the host is not asked at all, however often we refresh.
    for minute in (0.5, 1, 1.9):
        again = refresh_topic(topic, store, NOW + timedelta(minutes=minute), LIMITS)
        assert again.sources[0].waiting_until == NOW + timedelta(seconds=120)
        assert "HTTP 429" in (again.sources[0].error or "")
    assert feed_server.hits("/busy.xml") == 1
    # After it, the host is asked again; a plain failure now backs off for 5, then 10 min.
    feed_server.route("/busy.xml", b"down", status=500)
    t = NOW + timedelta(minutes=2)
    assert refresh_topic(topic, store, t, LIMITS).sources[0].waiting_until == t + timedelta(
        minutes=5
    )
    t += timedelta(minutes=5)
    assert refresh_topic(topic, store, t, LIMITS).sources[0].waiting_until == t + timedelta(
        minutes=10
    )
    assert feed_server.hits("/busy.xml") == 3
    # Success clears the backoff.
    feed_server.route("/busy.xml", rss([Item("Back", t)]))
    t += timedelta(minutes=10)
    back = refresh_topic(topic, store, t, LIMITS).sources[0]
    assert back.ok and back.waiting_until is None
    assert store.feed_states([source.url])[source.url].failures == 0


def test_a_single_failure_does_not_back_off() -> None:
    assert retry_time(1, 500, None, NOW) is None
    assert retry_time(1, 429, None, NOW) == NOW + timedelta(minutes=10)
    assert retry_time(1, 503, 10**9, NOW) == NOW + timedelta(hours=6)  # capped
    assert retry_time(9, None, None, NOW) == NOW + timedelta(hours=2)
