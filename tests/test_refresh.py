"""One refresh end to end: real server → fetch → parse → real SQLite store."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import sys
import threading
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import lib.parse.pool
import lib.refresh
from lib.fetch import FetchLimits, FetchResult, FetchStatus
from lib.model import Source, Topic
from lib.refresh import POOL_MIN_BYTES, refresh_sources, refresh_topic, retry_time
from lib.store import Store
from lib.storedb import Address
from support.feeds import Item, rss
from support.feedserver import FeedServer
from tests.test_parsepool import (
    cpu_seconds,
    new_workers,
    parse_workers,
    slow_to_parse,
    wait_until,
)

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


def test_new_unchanged_and_failing_sources(feed_server: FeedServer, store_address: Address) -> None:
    store = Store(store_address)
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


def test_a_refresh_writes_feed_states_with_its_saves(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed's state goes into the transaction that stores its headlines (with those of
    the feeds done before it), the rest into one at the end: never a commit per feed, and
    a refresh killed midway has recorded every feed whose headlines it stored."""
    store = Store(tmp_path / "news.db")
    topic = topic_for(feed_server)
    feed_server.route("/etag.xml", rss([Item("One", NOW)]), etag='"v1"')
    feed_server.route("/plain.xml", rss([Item("Two", NOW)]))
    feed_server.route("/flaky.xml", b"down", status=500)
    statements: list[tuple[int, str]] = []  # (connection number, SQL)
    real, numbers = sqlite3.connect, itertools.count()

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real(*args, **kwargs)
        number = next(numbers)
        db.set_trace_callback(lambda sql: statements.append((number, " ".join(sql.split()))))
        return db

    monkeypatch.setattr(sqlite3, "connect", traced)
    report = refresh_topic(topic, store, NOW, LIMITS)
    assert [r.status for r in report.sources] == [FetchStatus.OK] * 2 + [FetchStatus.FAILED]
    transactions: list[list[str]] = []  # each: the tables written, in order
    open_on: dict[int, list[str]] = {}
    for number, sql in statements:
        if sql.startswith("BEGIN"):
            open_on[number] = []
        elif sql == "COMMIT":
            transactions.append(open_on.pop(number))
        elif sql.startswith("INSERT INTO "):
            open_on[number].append(sql.split()[2])
    with_feeds = [tables for tables in transactions if "feed" in tables]
    assert sum(tables.count("feed") for tables in with_feeds) == 3  # each feed once
    saves = [tables for tables in with_feeds if "headline" in tables]
    assert len(saves) == 2 and len(with_feeds) <= 3  # the two saves, and one at the end


def test_html_instead_of_a_feed_is_a_failure_in_words(feed_server, store_address: Address) -> None:
    store = Store(store_address)
    topic = topic_for(feed_server)
    for path in ("/etag.xml", "/plain.xml"):
        feed_server.route(path, rss([Item(path, NOW)]))
    feed_server.route("/flaky.xml", b"<!doctype html><html><body>Login</body></html>",
                      content_type="text/html")  # fmt: skip
    report = refresh_topic(topic, store, NOW, LIMITS)
    (failed,) = report.failed
    assert failed.source.name == "Flaky feed"
    assert "HTML page" in (failed.error or "")


def test_a_dead_network_is_reported_as_unreachable(store_address: Address) -> None:
    with FeedServer() as gone:
        url = gone.url("/feed.xml")
    topic = Topic("t", "T", "", "x", "UTC", (Source("Dead", url),))
    report = refresh_topic(topic, Store(store_address), NOW, LIMITS)
    assert report.unreachable and not report.any_ok
    assert "connection refused" in (report.sources[0].error or "")


def test_retry_after_is_honoured_and_failures_back_off(feed_server, store_address: Address) -> None:
    store = Store(store_address)
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


# --- taking results in as they arrive; the parse worker pool -------------------------------
# The parse worker tests below run on a SQLite file only: they test the workers, and the
# store they write to is the same code as in the tests above, which run on both backends.


@pytest.fixture(autouse=True)
def parse_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[lib.parse.pool.ParsePool]:
    """A pool of parse workers of this test's own, stopped (workers joined) at its end."""
    pool = lib.parse.pool.ParsePool()
    monkeypatch.setattr(lib.parse.pool, "PARSE_POOL", pool)
    yield pool
    pool.shutdown()


@pytest.fixture
def parses_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of the bodies parsed in this process (workers are not counted)."""
    urls: list[str] = []
    real = lib.refresh.parse_feed

    def counted(body: bytes, **kwargs: Any) -> Any:
        urls.append(kwargs["url"])
        return real(body, **kwargs)

    monkeypatch.setattr(lib.refresh, "parse_feed", counted)
    return urls


def feed_of(name: str, count: int) -> bytes:
    """A feed of `count` items; 40 items make a body the pool takes."""
    return rss([Item(f"{name} story {i}", NOW - timedelta(minutes=i)) for i in range(count)])


def big_sources(server: FeedServer, count: int = 3) -> tuple[Source, ...]:
    """`count` sources of 40 items each, routed on `server`."""
    for i in range(count):
        server.route(f"/big{i}.xml", feed_of(f"Big {i}", 40))
    return tuple(Source(f"Big {i}", server.url(f"/big{i}.xml"), topical=True) for i in range(count))


def answer(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.mark.parametrize("items", [1, 40], ids=["parsed-here", "parsed-in-a-worker"])
def test_a_fast_source_is_stored_while_a_slow_one_is_still_answering(
    feed_server: FeedServer, store_address: Address, items: int
) -> None:
    store = Store(store_address)
    fast = feed_of("Fast", items)
    assert (len(fast) >= POOL_MIN_BYTES) == (items > 1)
    feed_server.route("/fast.xml", fast)
    stored_meanwhile: list[int] = []

    def slow(handler: BaseHTTPRequestHandler) -> None:
        # Answers once the fast feed's headlines are in the store, or gives up after 2 s.
        for _ in range(200):
            if store.count() or feed_server.wait(0.01):
                break
        stored_meanwhile.append(store.count())
        answer(handler, feed_of("Slow", 1))

    feed_server.route_handler("/slow.xml", slow)
    sources = (
        Source("Slow", feed_server.url("/slow.xml"), topical=True),
        Source("Fast", feed_server.url("/fast.xml"), topical=True),
    )
    report = refresh_sources("t", sources, store, NOW, LIMITS)
    assert stored_meanwhile == [items]
    assert [(r.status, r.new) for r in report.sources] == [
        (FetchStatus.OK, 1),
        (FetchStatus.OK, items),
    ]


def test_big_bodies_are_parsed_in_worker_processes(
    feed_server: FeedServer, tmp_path: Path, parses_here: list[str]
) -> None:
    store = Store(tmp_path / "news.db")
    sources = big_sources(feed_server)
    feed_server.route("/small.xml", feed_of("Small", 1))
    sources += (Source("Small", feed_server.url("/small.xml"), topical=True),)
    report = refresh_sources("t", sources, store, NOW, LIMITS)
    assert [(r.status, r.items, r.new, r.parsed) for r in report.sources] == [
        (FetchStatus.OK, 40, 40, True)
    ] * 3 + [(FetchStatus.OK, 1, 1, True)]
    assert parses_here == [feed_server.url("/small.xml")]  # only the small one, here
    assert store.count() == 121
    state = store.feed_states([sources[0].url])[sources[0].url]
    assert state.items == 40 and state.feed_title == "Test feed" and state.body_hash


def test_idle_workers_stop_and_start_again_for_the_next_refresh(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers stay up only while refreshes use them; a later refresh starts them again."""
    before = set(parse_workers(os.getpid()))
    pool = lib.parse.pool.ParsePool(idle=0.2)
    monkeypatch.setattr(lib.parse.pool, "PARSE_POOL", pool)
    store = Store(tmp_path / "news.db")
    sources = big_sources(feed_server)
    try:
        with pool.held():  # a refresh still running keeps the pool up
            refresh_sources("t", sources, store, NOW, LIMITS)
            assert pool.running
            feed_server.wait(0.5)  # longer than `idle`
            assert pool.running
        for _ in range(200):  # the countdown starts when the last refresh ends
            if not pool.running:
                break
            feed_server.wait(0.05)
        assert not pool.running
        assert wait_until(lambda: not new_workers(before), timeout=10)
        for i in range(3):  # changed bodies, so they are parsed again
            feed_server.route(f"/big{i}.xml", feed_of(f"Big again {i}", 40))
        report = refresh_sources("t", sources, store, NOW, LIMITS)
        assert [r.new for r in report.sources] == [40, 40, 40]
        assert pool.running
    finally:
        pool.shutdown()


def test_a_single_big_source_is_parsed_in_a_worker_too(
    feed_server: FeedServer, tmp_path: Path, parses_here: list[str]
) -> None:
    (source,) = big_sources(feed_server, 1)
    report = refresh_sources("t", (source,), Store(tmp_path / "news.db"), NOW, LIMITS)
    assert [(r.status, r.new) for r in report.sources] == [(FetchStatus.OK, 40)]
    assert parses_here == []  # only in a worker can a parse be stopped


def test_without_a_pool_bodies_are_parsed_here(
    feed_server: FeedServer,
    tmp_path: Path,
    parses_here: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starts: list[int] = []

    def cannot_start(preload: tuple[str, ...]) -> lib.parse.pool._Worker:
        starts.append(1)
        raise PermissionError(13, "fork: Permission denied")  # as in some sandboxes

    monkeypatch.setattr(lib.parse.pool, "PARSE_POOL", lib.parse.pool.ParsePool(size=1))
    monkeypatch.setattr(lib.parse.pool._Worker, "start", cannot_start)
    store = Store(tmp_path / "news.db")
    sources = big_sources(feed_server)
    report = refresh_sources("t", sources, store, NOW, LIMITS)
    assert [(r.status, r.new) for r in report.sources] == [(FetchStatus.OK, 40)] * 3
    assert sorted(parses_here) == sorted(s.url for s in sources)
    # Not tried again at every body or refresh: one failed start settles it.
    for i in range(3):
        feed_server.route(f"/big{i}.xml", feed_of(f"Again {i}", 40))
    again = refresh_sources("t", sources, store, NOW + timedelta(minutes=5), LIMITS)
    assert [(r.status, r.new) for r in again.sources] == [(FetchStatus.OK, 40)] * 3
    assert starts == [1]


def test_a_parse_past_the_time_limit_is_stopped_and_the_rest_goes_on(
    feed_server: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    before = set(parse_workers(os.getpid()))
    pool = lib.parse.pool.ParsePool(time_limit=1, size=2)
    monkeypatch.setattr(lib.parse.pool, "PARSE_POOL", pool)
    request.addfinalizer(pool.shutdown)
    store = Store(tmp_path / "news.db")
    bad, good = big_sources(feed_server, 2)
    assert [r.new for r in refresh_sources("t", (bad, good), store, NOW, LIMITS).sources] == [
        40,
        40,
    ]
    # The bad feed now sends a body that parses for seconds (4 s here), the good one news.
    feed_server.route("/big0.xml", slow_to_parse(1024))
    feed_server.route("/big1.xml", feed_of("Big again 1", 40))
    later = NOW + timedelta(minutes=5)
    report = refresh_sources("t", (bad, good), store, later, LIMITS)
    failed, stored = report.sources
    assert failed.status is FetchStatus.FAILED
    assert failed.error == "parsing took longer than 1 s; the feed may be malformed"
    assert (stored.status, stored.new) == (FetchStatus.OK, 40)
    state = store.feed_states([bad.url])[bad.url]
    assert state.last_error == failed.error and state.failing_since == later
    assert store.count() == 120  # the bad feed's headlines from before are kept
    # The killed worker is gone and the next refresh parses in a new one.
    assert wait_until(lambda: len(new_workers(before)) == 1, timeout=10)
    feed_server.route("/big0.xml", feed_of("Big 0 mended", 40))
    again = refresh_sources("t", (bad, good), store, later + timedelta(minutes=5), LIMITS)
    assert [(r.status, r.new) for r in again.sources] == [
        (FetchStatus.OK, 40),
        (FetchStatus.NOT_MODIFIED, 0),
    ]


def test_a_worker_killed_mid_parse_fails_its_feed_only(
    feed_server: FeedServer, tmp_path: Path, parses_here: list[str]
) -> None:
    """What the OOM killer does: the feed fails with what happened; nothing is parsed here."""
    store = Store(tmp_path / "news.db")
    bad, good = big_sources(feed_server, 2)
    feed_server.route("/big0.xml", slow_to_parse(1024))
    before = set(parse_workers(os.getpid()))
    killed: list[int] = []

    def kill_the_busy_worker() -> None:
        def busy() -> list[int]:
            return [pid for pid in new_workers(before) if cpu_seconds(pid) > 1.0]

        if wait_until(lambda: bool(busy()), timeout=30):
            killed.extend(busy())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_busy_worker)
    killer.start()
    report = refresh_sources("t", (bad, good), store, NOW, LIMITS)
    killer.join()
    assert len(killed) == 1
    failed, stored = report.sources
    assert failed.error == "the parser stopped while reading this feed (killed by SIGKILL)"
    assert (stored.status, stored.new) == (FetchStatus.OK, 40)
    assert parses_here == []
    feed_server.route("/big0.xml", feed_of("Big 0 mended", 40))
    again = refresh_sources("t", (bad, good), store, NOW + timedelta(minutes=5), LIMITS)
    assert [(r.status, r.new) for r in again.sources] == [
        (FetchStatus.OK, 40),
        (FetchStatus.NOT_MODIFIED, 0),
    ]


def test_workers_do_not_run_the_apps_main_script(
    feed_server: FeedServer,
    tmp_path: Path,
    parses_here: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Streamlit installs the app script as __main__; multiprocessing would run it again in
    # every worker it starts (importing Streamlit and running the page there).
    marker = tmp_path / "main-ran"
    script = tmp_path / "app.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    app_main = types.ModuleType("__main__")
    app_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", app_main)
    store = Store(tmp_path / "news.db")
    report = refresh_sources("t", big_sources(feed_server), store, NOW, LIMITS)
    assert [r.status for r in report.sources] == [FetchStatus.OK] * 3
    assert parses_here == []  # parsed in workers...
    assert not marker.exists()  # ...that did not run the app
    assert sys.modules["__main__"] is app_main


def test_on_done_is_called_in_the_calling_thread(feed_server: FeedServer, tmp_path: Path) -> None:
    store = Store(tmp_path / "news.db")
    topic = topic_for(feed_server)
    feed_server.route("/etag.xml", rss([Item("One", NOW)]), etag='"v1"')
    feed_server.route("/plain.xml", rss([Item("Two", NOW)]))
    feed_server.route("/flaky.xml", b"down", status=500)
    calls: list[tuple[str, threading.Thread]] = []

    def on_done(result: FetchResult) -> None:
        calls.append((result.url, threading.current_thread()))

    report = refresh_topic(topic, store, NOW, LIMITS, on_done=on_done)
    main = threading.main_thread()
    assert sorted(calls) == sorted((s.url, main) for s in topic.sources)
    assert len(report.failed) == 1


def test_a_viewer_feed_publishing_a_topic_item_first_hides_nothing(
    feed_server: FeedServer, store_address: Address
) -> None:
    store = Store(store_address)
    topic = Topic("t", "T", "", "x", "UTC", (Source("Wire", feed_server.url("/wire.xml"), True),))
    item = Item("Xi meets Putin", NOW - timedelta(hours=1), link="https://x.test/a", guid="g1")
    feed_server.route("/wire.xml", rss([item]))
    # A viewer's feed copies the topic item's guid and link, and is fetched first.
    copy = Item("Viewer's copy", NOW - timedelta(hours=1), link="https://x.test/a", guid="g1")
    feed_server.route("/mine.xml", rss([copy]))
    mine = Source("Mine", feed_server.url("/mine.xml"), topical=False)
    viewer = refresh_sources(
        "user-feeds", (mine,), store, NOW, LIMITS, untrusted=[mine.url], allow_private=True
    )
    assert viewer.sources[0].new == 1
    assert refresh_topic(topic, store, NOW, LIMITS).sources[0].new == 1
    since = NOW - timedelta(days=7)
    assert [h.title for h in store.headlines(since)] == ["Xi meets Putin"]
    assert store.viewer_headlines(since, [mine.url]) == []  # the topic's copy wins


def test_a_viewer_cannot_make_a_topic_feed_back_off(
    feed_server: FeedServer, store_address: Address
) -> None:
    store = Store(store_address)
    url = feed_server.url("/wire.xml")
    feed_server.route("/wire.xml", rss([Item("Xi meets Putin", NOW - timedelta(hours=1))]))
    topic = Topic("t", "T", "", "x", "UTC", (Source("Wire", url, topical=True),))
    # The topic's own loopback feed, typed in by a viewer: refused for them, three times.
    viewer = (Source("Mine", url, topical=False),)
    for minutes in range(3):
        at = NOW + timedelta(minutes=minutes)
        report = refresh_sources("user-feeds", viewer, store, at, LIMITS, untrusted=[url])
        assert report.failed
    assert store.feed_states([url])[url].failures == 0
    assert refresh_topic(topic, store, NOW + timedelta(minutes=5), LIMITS).sources[0].new == 1


@pytest.mark.parametrize("answer", ["not modified", "the same feed again"])
def test_a_clock_set_years_ahead_prunes_nothing(
    feed_server: FeedServer, store_address: Address, answer: str
) -> None:
    store = Store(store_address)
    topic = Topic("t", "T", "", "x", "UTC", (Source("Wire", feed_server.url("/wire.xml"), True),))
    items = [Item(f"Item {i}", NOW - timedelta(minutes=i)) for i in range(200)]
    feed_server.route("/wire.xml", rss(items), etag='"v1"' if answer == "not modified" else None)
    refresh_topic(topic, store, NOW, LIMITS, real_now=NOW)
    assert store.count() == 200
    if answer == "the same feed again":  # a new body (not the hash of the last one) is parsed
        feed_server.route("/wire.xml", rss(items, title="Renamed"))
    ahead = NOW + timedelta(days=3 * 365)  # NEWS_CLOCK, for display and tests
    report = refresh_topic(topic, store, ahead, LIMITS, real_now=NOW + timedelta(minutes=5))
    status = report.sources[0].status
    assert status is (FetchStatus.NOT_MODIFIED if answer == "not modified" else FetchStatus.OK)
    assert store.count() == 200
    # The wall clock still decides: a week later by it, they go.
    refresh_topic(topic, store, ahead, LIMITS, real_now=NOW + timedelta(days=8))
    assert store.count() == 0
