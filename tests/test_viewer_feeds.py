"""The feeds a viewer's browser added, kept in the store (schema 8) on both backends: in
the order added, within the limit, by their fetched title, apart per browser, kept by an
upgrade of a store made by the release before, and pruned once the browser is gone for
longer than its cookie lives (schema 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lib.migrations import LATEST, SCHEMA_KEY
from lib.store import FeedSuccess, Store
from lib.storedb import Address
from tests.storesql import execute, query
from tests.test_migrations import store_at_version

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
ME, YOU = "a" * 22, "b" * 22
FEEDS = [f"https://f{n}.test/rss" for n in range(7)]


def test_a_browser_keeps_its_feeds_in_order_within_the_limit(store_address: Address) -> None:
    store = Store(store_address)
    assert store.viewer_feeds(ME) == []
    assert store.add_viewer_feeds(ME, [(FEEDS[2], "Second"), (FEEDS[0], None)], NOW, 5) == 2
    # A URL it has already is left as it was; the limit counts what it has.
    assert store.add_viewer_feeds(ME, [(FEEDS[0], "Again"), *[(u, None) for u in FEEDS[3:]]],
                                  NOW, 5) == 3  # fmt: skip
    kept = store.viewer_feeds(ME)
    assert [(f.url, f.name) for f in kept] == [
        (FEEDS[2], "Second"), (FEEDS[0], None), (FEEDS[3], None), (FEEDS[4], None),
        (FEEDS[5], None),
    ]  # fmt: skip
    assert store.add_viewer_feeds(ME, [(FEEDS[6], None)], NOW, 5) == 0
    # Another browser has its own list; removing is per browser.
    assert store.add_viewer_feeds(YOU, [(FEEDS[0], None)], NOW, 5) == 1
    store.remove_viewer_feed(ME, FEEDS[0])
    assert FEEDS[0] not in [f.url for f in store.viewer_feeds(ME)]
    assert [f.url for f in store.viewer_feeds(YOU)] == [FEEDS[0]]
    # A place freed is taken by the next one added, at the end of the list.
    assert store.add_viewer_feeds(ME, [(FEEDS[6], None)], NOW, 5) == 1
    assert store.viewer_feeds(ME)[-1].url == FEEDS[6]
    # Another process (a new Store) reads the same.
    assert Store(store_address).viewer_feeds(ME) == store.viewer_feeds(ME)


def test_a_viewer_feed_has_its_fetched_title(store_address: Address) -> None:
    store = Store(store_address)
    store.add_viewer_feeds(ME, [(FEEDS[0], None), (FEEDS[1], None)], NOW, 5)
    assert [f.title for f in store.viewer_feeds(ME)] == [None, None]
    store.record_feeds([FeedSuccess(FEEDS[0], "ok", 200, 1.0, feed_title="Wire One")], NOW,
                       viewer_feeds=[FEEDS[0]])  # fmt: skip
    # The same URL as a topics-file feed is another scope: its title is not this one's.
    store.record_feeds([FeedSuccess(FEEDS[1], "ok", 200, 1.0, feed_title="Topic's")], NOW)
    assert [f.title for f in store.viewer_feeds(ME)] == ["Wire One", None]


def test_a_store_of_the_release_before_upgrades_and_keeps_viewer_feeds(
    store_address: Address,
) -> None:
    store_at_version(store_address, 7)  # what the release before this one made
    assert "viewer_feed" not in {
        row[0]
        for row in query(
            store_address,
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if "://" not in str(store_address)
            else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
        )
    }
    store = Store(store_address)
    assert query(store_address, "SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)) == [
        (str(LATEST),)
    ]
    assert LATEST == 9
    assert store.add_viewer_feeds(ME, [(FEEDS[0], "Mine")], NOW, 5) == 1
    assert [(f.url, f.name) for f in Store(store_address).viewer_feeds(ME)] == [(FEEDS[0], "Mine")]


def test_the_feeds_of_a_browser_gone_for_a_year_are_pruned(store_address: Address) -> None:
    store = Store(store_address)
    store.add_viewer_feeds(ME, [(FEEDS[0], None), (FEEDS[1], None)], NOW, 5)
    store.add_viewer_feeds(YOU, [(FEEDS[2], None)], NOW, 5)
    # My page reads mine 200 days on (kept as seen then); yours is never opened again.
    later = NOW + timedelta(days=200)
    assert len(store.viewer_feeds(ME, later)) == 2
    seen = query(store_address, "SELECT DISTINCT seen_at FROM viewer_feed WHERE browser = ?",
                 (ME,))  # fmt: skip
    assert seen == [(int(later.timestamp()),)]
    # A read within a day writes nothing (a page open stays a read).
    store.viewer_feeds(ME, later + timedelta(hours=20))
    assert query(store_address, "SELECT DISTINCT seen_at FROM viewer_feed WHERE browser = ?",
                 (ME,)) == seen  # fmt: skip
    store.prune(NOW + timedelta(days=366), real_now=NOW + timedelta(days=366))
    assert [f.url for f in store.viewer_feeds(ME)] == FEEDS[:2]
    assert store.viewer_feeds(YOU) == []
    # A display clock set ahead of the wall clock prunes nothing the wall clock keeps.
    store.add_viewer_feeds(YOU, [(FEEDS[2], None)], NOW, 5)
    store.prune(NOW + timedelta(days=900), real_now=NOW)
    assert [f.url for f in store.viewer_feeds(YOU)] == [FEEDS[2]]


def test_an_upgrade_counts_a_browsers_feeds_as_seen_when_added(store_address: Address) -> None:
    store_at_version(store_address, 8)
    added = int(NOW.timestamp())
    execute(store_address, "INSERT INTO viewer_feed (browser, url, name, place, added_at) "
            "VALUES (?, ?, ?, ?, ?)", (ME, FEEDS[0], None, 1, added))  # fmt: skip
    store = Store(store_address)
    assert query(store_address, "SELECT seen_at FROM viewer_feed") == [(added,)]
    store.prune(NOW + timedelta(days=300), real_now=NOW + timedelta(days=300))
    assert [f.url for f in store.viewer_feeds(ME)] == [FEEDS[0]]
    store.prune(NOW + timedelta(days=400), real_now=NOW + timedelta(days=400))
    assert store.viewer_feeds(ME) == []
