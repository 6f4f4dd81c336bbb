"""Work shared through the store: expiring feed claims and "Refresh now" requests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.store import MIN_REFRESH_INTERVAL, Store, refresh_allowed
from lib.storedb import Address
from tests.test_store import statements  # noqa: F401  (a fixture, found by name)

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
LEASE = timedelta(minutes=1)
FEEDS = [f"https://f{n}.test/rss" for n in range(10)]
TOPICS = {"one": FEEDS[:6], "two": FEEDS[4:]}  # two feeds in both topics


def claim(store: Store, owner: str, at: datetime, limit: int = 100) -> list[str]:
    return store.claim_feeds(owner, TOPICS, at, EVERY, LEASE, limit)


def test_a_feed_is_claimed_once_per_period(store_address: Address) -> None:
    store = Store(store_address)
    first = claim(store, "a", T0, limit=4)
    second = claim(store, "b", T0)
    assert len(first) == 4 and len(second) == 6
    assert set(first).isdisjoint(second) and set(first) | set(second) == set(FEEDS)
    assert claim(store, "c", T0 + timedelta(seconds=1)) == []  # all held
    store.release_feeds("a", first)
    store.release_feeds("b", second)
    assert claim(store, "c", T0 + EVERY - timedelta(seconds=1)) == []  # fetched this period
    assert sorted(claim(store, "c", T0 + EVERY)) == sorted(FEEDS)  # due again


def test_a_claim_of_a_loop_that_died_expires(store_address: Address) -> None:
    store = Store(store_address)
    held = claim(store, "dead", T0)
    assert claim(store, "b", T0 + LEASE - timedelta(seconds=1)) == []
    taken = claim(store, "b", T0 + LEASE)
    assert sorted(taken) == sorted(held)  # never fetched: due at once
    store.release_feeds("dead", held)  # the first loop comes back late: changes nothing
    assert claim(store, "c", T0 + LEASE + timedelta(seconds=1)) == []  # b still holds them
    store.release_feeds("b", taken)
    assert claim(store, "c", T0 + LEASE + EVERY - timedelta(seconds=1)) == []


def test_loops_on_threads_never_share_a_feed(store_address: Address) -> None:
    path = store_address
    Store(path)
    topics = {"t": [f"https://many{n}.test/rss" for n in range(200)]}
    taken: dict[str, list[str]] = {}

    def loop(owner: str) -> None:
        store = Store(path)
        mine = taken.setdefault(owner, [])
        while batch := store.claim_feeds(owner, topics, T0, EVERY, LEASE, 7):
            mine += batch

    threads = [threading.Thread(target=loop, args=(f"loop{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [url for urls in taken.values() for url in urls]
    assert sorted(every) == sorted(topics["t"])  # each feed exactly once


def test_a_refresh_request_makes_its_topics_feeds_due_and_is_limited(
    store_address: Address,
) -> None:
    store = Store(store_address)
    assert refresh_allowed(store.refresh_state("one", TOPICS["one"], T0), T0)
    store.release_feeds("a", claim(store, "a", T0))
    later = T0 + MIN_REFRESH_INTERVAL - timedelta(seconds=1)
    # Refreshed moments ago (by the loop): nobody may ask yet.
    assert not refresh_allowed(store.refresh_state("one", TOPICS["one"], later), later)
    assert not store.request_refresh("one", TOPICS["one"], later)
    asked = T0 + MIN_REFRESH_INTERVAL
    assert store.request_refresh("one", TOPICS["one"], asked)
    state = store.refresh_state("one", TOPICS["one"], asked)
    assert (state.asked_at, state.waiting, state.fetching) == (asked, True, 0)
    # Asked by someone: the limit holds for everyone else too.
    assert not store.request_refresh("one", TOPICS["one"], asked + timedelta(seconds=29))
    assert not store.refresh_state("two", TOPICS["two"], asked).waiting
    # The topic's feeds are due at once, before their period is over; the others are not.
    taken = claim(store, "b", asked + timedelta(seconds=2), limit=3)
    assert set(taken) <= set(TOPICS["one"])
    rest = claim(store, "b", asked + timedelta(seconds=2))
    assert store.refresh_state("one", TOPICS["one"], asked).fetching == 6
    assert store.refresh_state("one", TOPICS["one"], asked + LEASE * 2).fetching == 0
    assert sorted(taken + rest) == sorted(TOPICS["one"])
    store.release_feeds("b", taken + rest)
    assert not store.refresh_state("one", TOPICS["one"], asked).waiting
    assert claim(store, "c", asked + timedelta(seconds=3)) == []  # answered: not due again


# SQLite only: it counts statements with SQLite's trace (on PostgreSQL the same code takes
# no lock either: the look before `begin_rows` is a plain read).
def test_a_poll_that_finds_nothing_due_takes_no_write_lock(
    tmp_path: Path,
    statements: list[tuple[int, str]],  # noqa: F811
) -> None:
    store = Store(tmp_path / "news.db")
    store.release_feeds("a", claim(store, "a", T0))
    statements.clear()
    assert claim(store, "b", T0 + timedelta(seconds=10)) == []
    assert "BEGIN" not in [word for _, word in statements]
