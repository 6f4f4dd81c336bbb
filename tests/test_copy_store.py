"""`python -m lib copy-store FROM TO`, run as a real process: everything a store holds reaches
an empty store, a store that is not empty is refused, and the copy goes on where the original
stopped (versions, story ids, which feeds are due).

The target is a fixture parameter: the store's address for each backend (an SQLite file
here; a PostgreSQL database is one more parameter)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.model import Headline
from lib.store import COPIED_TABLES, FeedFailure, FeedSuccess, Store
from tests.conftest import BACKENDS, empty_store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC).replace(microsecond=0)
FEEDS = ["https://wire.test/a.xml", "https://wire.test/b.xml", "https://wire.test/c.xml"]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The address of an empty store to copy into, one per backend."""
    with empty_store(request, tmp_path / "copy" / "news.db") as address:
        yield str(address)


def copy_store(source: str, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lib", "copy-store", source, target],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def headline(n: int, title: str, hours: float) -> Headline:
    return Headline(title, f"https://wire.test/{n}", "Wire", None,
                    NOW - timedelta(hours=hours), FEEDS[n % 2], f"g{n}")  # fmt: skip


def filled(path: Path) -> Store:
    """A store as a refresher leaves it: headlines with stories (one a story of two), a
    viewer's own headline, feed states that worked and failed, claims, a refresh request."""
    store = Store(path)
    store.save(
        [
            headline(1, "China and Russia sign a gas pipeline deal", 5),
            headline(2, "Russia and China sign gas pipeline deal in Beijing", 4),
            headline(3, "Navies of China and Russia drill in the Pacific", 3),
            headline(4, "Xi meets Putin", 1),
        ],
        NOW,
    )
    own = Headline("My own feed's item", "https://mine.test/1", "Mine", None,
                   NOW - timedelta(hours=2), "https://mine.test/feed", "m1")  # fmt: skip
    store.save([own], NOW, scope="https://mine.test/feed")
    store.record_feeds(
        [
            FeedSuccess(FEEDS[0], "ok", 200, 12.5, etag='"e1"', body_hash="h", items=2),
            FeedFailure(FEEDS[2], "HTTP 503", 503, 3.0, retry_at=NOW + timedelta(minutes=5)),
        ],
        NOW,
    )
    store.record_feeds([FeedSuccess("https://mine.test/feed", "ok", 200, 1.0)], NOW,
                       viewer_feeds=["https://mine.test/feed"])  # fmt: skip
    every, lease = timedelta(minutes=5), timedelta(minutes=1)
    taken = store.claim_feeds("loop-1", {"t": FEEDS}, NOW - timedelta(minutes=2), every, lease, 10)
    store.release_feeds("loop-1", taken)
    assert store.request_refresh("other", [FEEDS[0]], NOW - timedelta(minutes=1))
    assert store.add_viewer_feeds("b" * 22, [("https://mine.test/feed", None)], NOW, 5) == 1
    return store


def everything(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Every copied row of every table, through the store's own reads."""
    return {table: [row for rows in store.copy_rows(table) for row in rows]
            for table in COPIED_TABLES}  # fmt: skip


def test_a_store_is_copied_whole_and_the_copy_goes_on(tmp_path: Path, target: str) -> None:
    source = filled(tmp_path / "news.db")
    done = copy_store(str(tmp_path / "news.db"), target)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"Copied 5 headlines, 3 stories, 3 feed states, 3 feed claims, 1 refresh requests, "
        f"1 viewer feeds from {tmp_path / 'news.db'} to {target}"
    )
    copy = Store(target)
    assert everything(copy) == everything(source)
    assert [f.url for f in copy.viewer_feeds("b" * 22)] == ["https://mine.test/feed"]
    # What the pages and the loops read agrees.
    since = NOW - timedelta(days=7)
    assert copy.headlines_after(None, since) == source.headlines_after(None, since)
    assert copy.feed_states(FEEDS) == source.feed_states(FEEDS)
    assert copy.status() == source.status()
    assert copy.version() == source.version()
    wall = NOW + timedelta(seconds=1)
    assert copy.refresh_state("other", [FEEDS[0]], wall) == source.refresh_state(
        "other", [FEEDS[0]], wall
    )
    # Nobody holds a feed of the copy, and the same feeds are due in both.
    every, lease = timedelta(minutes=5), timedelta(minutes=1)
    assert copy.claim_feeds("loop-2", {"t": FEEDS}, NOW, every, lease, 10) == source.claim_feeds(
        "loop-2", {"t": FEEDS}, NOW, every, lease, 10
    )
    # The next save gets the same stories and version in both: ids are never given twice.
    later = [headline(5, "China and Russia gas pipeline deal signed", 0.5),
             headline(6, "Moon landing planned for 2030", 0.2)]  # fmt: skip
    assert copy.save(later, NOW) == source.save(later, NOW) == 2
    assert copy.headlines_after(None, since) == source.headlines_after(None, since)
    assert copy.version() == source.version()


def test_a_store_that_is_not_empty_is_refused(tmp_path: Path, target: str) -> None:
    filled(tmp_path / "news.db")
    assert copy_store(str(tmp_path / "news.db"), target).returncode == 0
    before = everything(Store(target))
    again = copy_store(str(tmp_path / "news.db"), target)
    assert again.returncode == 2
    assert again.stdout == ""
    (line,) = again.stderr.strip().splitlines()
    assert line == (
        f"error: The headline store {target} is not empty: copy into a new store, or move "
        "this one away."
    )
    assert everything(Store(target)) == before


def test_a_missing_store_is_one_line(tmp_path: Path, target: str) -> None:
    missing = tmp_path / "nothing.db"
    done = copy_store(str(missing), target)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: The headline store {missing} does not exist")
    assert not missing.exists()
