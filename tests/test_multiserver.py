"""Several machines' worth on one: one store, two standalone refreshers (`python -m lib
refresh --serve`) and two `streamlit run` servers (NEWS_REFRESH=external), feeds served
locally. Both servers show the same headlines in chromium; the feed server counts one
request per feed per period, as with one refresher; a refresher killed with SIGKILL
mid-round leaves its feeds to the other, which fetches them when the claims expire.

The store is a fixture parameter: its address for each backend (an SQLite file here; a
PostgreSQL database is one more parameter)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.store import Store
from lib.storedb import is_postgres
from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.pgserver import PgServer
from support.servers import ROOT, app_server
from tests.conftest import BACKENDS, empty_store
from tests.test_browser import listed_titles
from tests.test_refresher import wait_until, write_topics

pytestmark = pytest.mark.browser

PERIOD = 24  # NEWS_REFRESH_EVERY, seconds: longer than a lease and a slow feed after a kill
LEASE = 8  # NEWS_REFRESH_LEASE: longer than the slow feeds take, so a live loop keeps them
FAST = [f"/fast{n}.xml" for n in range(60)]  # more than a batch (50): the loops share a round
SLOW = ["/slow0.xml", "/slow1.xml"]  # still answering when a loop is killed
ROUND_WORDS = {1: "amber", 2: "basalt", 3: "cobalt"}  # what tells the two periods' items apart


@pytest.fixture(params=BACKENDS)
def store_address(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The address of a new, empty store, one per backend."""
    with empty_store(request, tmp_path / "news.db") as address:
        yield str(address)


def title_of(feed: str, round_: int = 1) -> str:
    """A headline of its own per feed and round (no word shared with another feed's)."""
    n = (FAST + SLOW).index(feed)
    return f"Zq{n}v {ROUND_WORDS[round_]}x{n} Kp{n}w"


def serve(feeds: FeedServer, round_: int) -> None:
    when = datetime.now(UTC) - timedelta(minutes=10)
    for feed in FAST:
        feeds.route(feed, rss([Item(title_of(feed, round_), when)]))
    for feed in SLOW:
        feeds.route(feed, rss([Item(title_of(feed, round_), when)]), delay=5)


@contextmanager
def refresher(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lib", "refresh", "--serve"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def hits(feeds: FeedServer) -> dict[str, int]:
    return {feed: feeds.hits(feed) for feed in FAST + SLOW}


def stored(address: str) -> set[str]:
    return {h.title for h in Store(address).headlines(datetime.now(UTC) - timedelta(days=7))}


def shown(browser: object, base: str, note: bool = False) -> list[str]:
    """The headlines a new viewer of `base` sees (first page); with `note`, once the page
    also shows the store-unreachable line (which then comes first)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
    page = context.new_page()
    page.goto(base)
    page.locator("div.np-bucket").first.wait_for(timeout=30_000)
    titles = listed_titles(page)
    if note:
        warning = page.locator("div[data-testid='stAlertContentWarning']").first
        warning.wait_for(timeout=30_000)
        titles = [warning.inner_text(), *titles]
    context.close()
    return titles


def test_two_servers_two_refreshers_one_store(
    browser: object, tmp_path: Path, store_address: str, request: pytest.FixtureRequest
) -> None:
    with FeedServer() as feeds, ExitStack() as running:
        serve(feeds, 1)
        topics = write_topics(tmp_path / "t.toml", feeds, {"t": FAST + SLOW})
        env = {"NEWS_TOPICS": str(topics), "NEWS_DB": store_address,
               "NEWS_REFRESH_EVERY": str(PERIOD), "NEWS_REFRESH_LEASE": str(LEASE),
               "NEWS_FETCH_DEADLINE": "7"}  # fmt: skip
        servers = [
            running.enter_context(app_server({**env, "NEWS_REFRESH": "external"})) for _ in (1, 2)
        ]
        loops = [
            running.enter_context(refresher(env, tmp_path / f"refresher{n}.log")) for n in (1, 2)
        ]
        everything = {title_of(feed) for feed in FAST + SLOW}
        assert wait_until(lambda: stored(store_address) == everything, timeout=30)
        # One request per feed in the first period, however many loops and servers.
        assert hits(feeds) == dict.fromkeys(FAST + SLOW, 1)
        serve(feeds, 2)

        # The second period: the loop fetching the slow feeds is killed.
        assert wait_until(lambda: feeds.hits(SLOW[0]) == 2, timeout=PERIOD + 10)
        holders = Store(store_address).holders(datetime.now(UTC))
        pid = int(holders[feeds.url(SLOW[0])].split(":")[-2])  # host:pid:token
        held = {feed for feed in FAST + SLOW if holders.get(feeds.url(feed), "").count(f":{pid}:")}
        (doomed,) = [loop for loop in loops if loop.pid == pid]
        (heir,) = [loop for loop in loops if loop.pid != pid]
        os.kill(pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        again = {title_of(feed, 2) for feed in FAST + SLOW}
        # The other loop takes the killed loop's feeds up when its claims expire.
        assert wait_until(lambda: again <= stored(store_address), timeout=LEASE + 20)
        assert heir.poll() is None
        counts = hits(feeds)
        assert counts[SLOW[0]] == 3  # the killed loop's request, then the heir's
        # Each feed once in the period, but those the killed loop held (fetched again).
        assert {f: n for f, n in counts.items() if f not in held} == dict.fromkeys(
            set(FAST + SLOW) - held, 2
        )
        assert all(counts[feed] in (2, 3) for feed in held), counts
        assert stored(store_address) == everything | again  # nothing stored was lost

        # Both servers show the same headlines, those of the second period among them.
        first, second = (shown(browser, base) for base in servers)
        assert first == second and len(first) == 50  # the first page
        assert set(first) <= everything | again and set(first) & again

        if not is_postgres(store_address):
            return
        # PostgreSQL stopped for a while under running servers and loops: they wait, and
        # all of it comes back without a restart; nothing stored is lost.
        server: PgServer = request.getfixturevalue("pg_server")
        server.stop()
        try:
            time.sleep(20)  # the outage the issue names
            for base in servers:  # each shows what it read, with the line that says why
                line, *titles = shown(browser, base, note=True)
                said = line.replace("\u2060", "")  # word joiners kept links from forming
                assert "Store unreachable since " in said and "cannot be reached" in said, said
                assert titles == first
            assert heir.poll() is None  # waiting, not dead
        finally:
            server.start()
        serve(feeds, 3)
        third = {title_of(feed, 3) for feed in FAST + SLOW}
        assert wait_until(lambda: third <= stored(store_address), timeout=2 * PERIOD + 30)
        assert stored(store_address) == everything | again | third
        for base in servers:
            assert set(shown(browser, base)) & third
