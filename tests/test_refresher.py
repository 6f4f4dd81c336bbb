"""The refresher loop against the local feed server (real HTTP, a real SQLite file and a real
PostgreSQL server): with no viewer, on a thread and as processes (`python -m lib refresh
--serve`), sharing one store."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.config import load_settings
from lib.refresher import Refresher, loop_missing
from lib.store import RefreshState, Store
from lib.storedb import Address
from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.pgserver import PgServer

ROOT = Path(__file__).resolve().parent.parent


def wall() -> datetime:
    return datetime.now(UTC)


def wait_until(check: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll `check` until it holds or `timeout` seconds pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


def write_topics(path: Path, server: FeedServer, topics: dict[str, list[str]]) -> Path:
    """A topics file: each topic slug with its feeds (paths on `server`), every feed topical."""
    text = ""
    for slug, paths in topics.items():
        text += (
            f'[[topic]]\nslug = "{slug}"\ntitle = "{slug}"\nabout = "x"\nquery = "x"\n'
            'timezone = "UTC"\n'
        )
        for feed in paths:
            text += (
                f'[[topic.source]]\nname = "{feed}"\nurl = "{server.url(feed)}"\ntopical = true\n'
            )
    path.write_text(text)
    return path


def serve_feeds(server: FeedServer, paths: list[str], **route: object) -> None:
    """Each path serves one headline of its own, published ten minutes ago."""
    when = wall() - timedelta(minutes=10)
    for feed in paths:
        server.route(feed, rss([Item(f"Story of {feed}", when)]), **route)  # type: ignore[arg-type]


def settings(store: Address, topics: Path, **env: str) -> dict[str, str]:
    return {
        "NEWS_TOPICS": str(topics),
        "NEWS_DB": str(store),
        "NEWS_FETCH_DEADLINE": "10",
        **env,
    }


@contextmanager
def loop_on_thread(env: dict[str, str], poll: float = 0.2) -> Iterator[Refresher]:
    loop = Refresher(load_settings(env), wall, poll=timedelta(seconds=poll))
    thread = loop.start()
    try:
        yield loop
    finally:
        loop.stop(timeout=30)
        assert not thread.is_alive()


def stored_titles(db: Address) -> set[str]:
    return {h.title for h in Store(db).headlines(wall() - timedelta(days=7))}


def test_the_loop_fills_the_store_with_no_viewer(
    tmp_path: Path, store_address: Address, feed_server: FeedServer
) -> None:
    feeds = ["/a.xml", "/b.xml", "/c.xml", "/d.xml"]
    serve_feeds(feed_server, feeds)
    # /c.xml is in both topics: fetched once for both.
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": feeds[:3], "two": feeds[2:]})
    env = settings(store_address, topics, NEWS_REFRESH_EVERY="3600")
    with loop_on_thread(env) as loop:
        assert wait_until(lambda: len(stored_titles(store_address)) == 4)
        assert wait_until(lambda: loop.rounds >= 3)  # it goes on waiting for due feeds
    assert {feed: feed_server.hits(feed) for feed in feeds} == dict.fromkeys(feeds, 1)
    assert loop.last_error is None


def test_a_refresh_request_is_honoured_and_limited(
    tmp_path: Path, store_address: Address, feed_server: FeedServer
) -> None:
    feeds = ["/a.xml", "/b.xml"]
    serve_feeds(feed_server, feeds)
    feed_server.route("/other.xml", rss([]))
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": feeds, "two": ["/other.xml"]})
    env = settings(store_address, topics, NEWS_REFRESH_EVERY="3600")
    db = store_address
    with loop_on_thread(env):
        assert wait_until(lambda: len(stored_titles(db)) == 2)
        store = Store(db)
        urls = [feed_server.url(feed) for feed in feeds]
        # Just refreshed: nobody may ask for 30 s.
        assert not store.request_refresh("one", urls, wall())
        feed_server.route("/a.xml", rss([Item("Breaking", wall())]))
        # 30 s later (the clock given is the wall clock moved on): asked, and the loop
        # fetches the topic's feeds within a few seconds, though its period is an hour.
        later = wall() + timedelta(seconds=31)
        assert store.request_refresh("one", urls, later)
        assert not store.request_refresh("one", urls, later + timedelta(seconds=29))
        assert wait_until(lambda: "Breaking" in stored_titles(db), timeout=20)
        assert wait_until(lambda: not store.refresh_state("one", urls, wall()).waiting)
    assert feed_server.hits("/a.xml") == 2 and feed_server.hits("/b.xml") == 2
    assert feed_server.hits("/other.xml") == 1  # another topic: not asked again


def test_a_store_fault_makes_the_loop_wait_and_retry(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lib.refresher")
    serve_feeds(feed_server, ["/a.xml"])
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": ["/a.xml"]})
    db = tmp_path / "news.db"
    db.mkdir()  # not a file: the store cannot be opened
    with loop_on_thread(settings(db, topics)) as loop:
        assert wait_until(lambda: loop.failures >= 2)  # tried again after its backoff
        assert f"The headline store {db} is a folder" in str(loop.last_error)
        assert loop.state == "waiting" and loop.failing_since is not None
        assert loop.store_fault is not None
        db.rmdir()  # repaired while the loop waits
        assert wait_until(lambda: stored_titles(db) == {"Story of /a.xml"}, timeout=60)
        assert wait_until(lambda: loop.last_error is None)
        assert loop.state == "working" and loop.failing_since is None and loop.failures == 0
    # One line when it starts failing and one when it works again, not one per attempt.
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 2, said
    assert "is a folder" in said[0] and said[0].endswith("(waiting and trying again)")
    assert said[1].startswith("refresher: working again (failing since ")


def test_a_loop_waits_while_postgresql_is_down_and_goes_on(
    tmp_path: Path, feed_server: FeedServer, pg_server: PgServer
) -> None:
    url = pg_server.fresh_url()
    serve_feeds(feed_server, ["/a.xml"])
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": ["/a.xml"]})
    try:
        with loop_on_thread(settings(url, topics, NEWS_REFRESH_EVERY="1")) as loop:
            assert wait_until(lambda: stored_titles(url) == {"Story of /a.xml"})
            pg_server.stop()
            try:
                assert wait_until(lambda: loop.last_error is not None)
                assert f"The headline store {url} cannot be reached" in str(loop.last_error)
                assert loop.store_fault is not None
            finally:
                pg_server.start()
            feed_server.route("/a.xml", rss([Item("Later", wall() - timedelta(minutes=1))]))
            # The same loop and Store go on: nothing stored before is lost.
            assert wait_until(lambda: stored_titles(url) == {"Story of /a.xml", "Later"}, 60)
            assert wait_until(lambda: loop.last_error is None)
    finally:
        pg_server.drop(url)


def start_loop(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m lib refresh --serve` as a process of its own, logging to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "lib", "refresh", "--serve"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


@contextmanager
def loops(*processes: subprocess.Popen[bytes]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


def test_two_loops_never_fetch_a_feed_twice_in_a_period(
    tmp_path: Path, store_address: Address, feed_server: FeedServer
) -> None:
    feeds = [f"/f{n}.xml" for n in range(40)]
    serve_feeds(feed_server, feeds, delay=0.1)
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": feeds[:25], "two": feeds[15:]})
    env = settings(store_address, topics, NEWS_REFRESH_EVERY="3600")
    first = start_loop(env, tmp_path / "first.log")
    second = start_loop(env, tmp_path / "second.log")
    with loops(first, second):
        assert wait_until(lambda: len(stored_titles(store_address)) == 40, timeout=60)
        time.sleep(3)  # both go on polling: nothing is due again within the hour
        assert first.poll() is None and second.poll() is None
    assert first.returncode == 0 and second.returncode == 0  # SIGTERM: a clean stop
    assert {feed: feed_server.hits(feed) for feed in feeds} == dict.fromkeys(feeds, 1)


def test_a_loop_killed_mid_round_is_replaced_within_its_lease(
    tmp_path: Path, store_address: Address, feed_server: FeedServer
) -> None:
    fast = [f"/fast{n}.xml" for n in range(3)]
    slow = [f"/slow{n}.xml" for n in range(3)]
    serve_feeds(feed_server, fast)
    serve_feeds(feed_server, slow, delay=8)  # still answering when the loop is killed
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": fast + slow})
    db = store_address
    env = settings(store_address, topics, NEWS_REFRESH_EVERY="3600", NEWS_REFRESH_LEASE="10")
    doomed = start_loop(env, tmp_path / "doomed.log")
    with loops(doomed):
        # Mid-round: the fast feeds are stored, the slow ones are being fetched.
        assert wait_until(lambda: len(stored_titles(db)) == 3, timeout=60)
        assert all(feed_server.hits(feed) == 1 for feed in slow)
        heir = start_loop(env, tmp_path / "heir.log")
        with loops(heir):
            time.sleep(1)
            assert all(feed_server.hits(feed) == 1 for feed in slow)  # held: not taken
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            # The claims of the feeds it had not stored expire (10 s) and the other loop
            # takes those up; the fast feeds were recorded with their headlines.
            assert wait_until(lambda: len(stored_titles(db)) == 6, timeout=60)
            time.sleep(1)  # a loop that took the fast feeds up again would ask them now
    titles = stored_titles(db)
    assert {f"Story of {feed}" for feed in fast + slow} == titles  # nothing stored was lost
    assert {feed: feed_server.hits(feed) for feed in fast + slow} == {
        **dict.fromkeys(fast, 1),
        **dict.fromkeys(slow, 2),
    }


def test_refresh_once_for_cron(
    tmp_path: Path, store_address: Address, feed_server: FeedServer
) -> None:
    serve_feeds(feed_server, ["/a.xml"])
    feed_server.route("/down.xml", b"", status=500)
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": ["/a.xml", "/down.xml"]})
    env = {**os.environ, **settings(store_address, topics)}
    done = subprocess.run(
        [sys.executable, "-m", "lib", "refresh"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("/a.xml ") and "ok, 1 items, 1 new" in line for line in lines)
    assert any(line.startswith("/down.xml ") and "failed: HTTP 500" in line for line in lines)
    assert lines[-1].startswith("1 of 2 sources answered; 1 new headlines stored")


@pytest.mark.parametrize("value", ["sometimes", "0", "-5"])
def test_refresh_settings_are_checked(value: str) -> None:
    from lib.errors import ConfigError

    with pytest.raises(ConfigError):
        load_settings({"NEWS_REFRESH": value} if value == "sometimes" else {
            "NEWS_REFRESH_EVERY": value})  # fmt: skip


def test_a_missing_loop_is_told_from_the_claims() -> None:
    config = load_settings({"NEWS_REFRESH_EVERY": "300", "NEWS_FETCH_DEADLINE": "10"})
    now = wall()  # a period: 5 minutes; a lease: 10 + 15 + 15 = 40 s; a poll: 2 s

    def ago(seconds: float) -> datetime:
        return now - timedelta(seconds=seconds)

    def missing(state: RefreshState, watched: float = 0) -> bool:
        return loop_missing(config, state, ago(watched), now)

    never = RefreshState(None, None, False)  # no loop ever took a feed of the topic
    assert not missing(never, watched=300) and missing(never, watched=303)
    # Two periods since a loop last took one.
    assert not missing(RefreshState(None, ago(590), False), watched=3600)
    assert missing(RefreshState(None, ago(610), False), watched=0)  # a restart hides nothing
    # "Refresh now": a live loop takes a feed of it within a lease and a poll.
    assert not missing(RefreshState(ago(30), ago(100), True))
    assert missing(RefreshState(ago(60), ago(100), True))
    assert not missing(RefreshState(ago(60), ago(10), True))  # taken up, still fetching
    assert not missing(RefreshState(ago(60), ago(100), False))  # answered
