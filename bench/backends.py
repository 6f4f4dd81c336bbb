"""The store on PostgreSQL against SQLite: the same calls, timed on both in one run.

`python -m bench.backends [--quick]` prints one line per figure with both times and their
ratio. A round is what a refresher stores after fetching `feeds` feeds: their outcomes in
one batch, and `new` headlines among them, into a store already holding `stored`. The
readers' calls are the page's: the store version on every run, what arrived since a
version, and an idle claim poll. PostgreSQL runs on this machine (the test suite's
throwaway server, `support/pgserver.py`): a network between app and database adds its
round trips to every call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.store import FeedSuccess, Store
from lib.storedb import Address, close_pools
from support.corpus import headlines
from support.pgserver import PgServer

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BackendSizes:
    stored: int  # headlines in the store before the round
    feeds: int  # feeds in a round
    new: int  # new headlines a round stores
    repeats: int


FULL = BackendSizes(stored=10_000, feeds=200, new=1_000, repeats=5)
QUICK = BackendSizes(stored=1_000, feeds=20, new=100, repeats=1)


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _figures(address: Address, sizes: BackendSizes) -> dict[str, float]:
    """Seconds per figure on the store at `address` (median of the repeats)."""
    corpus = headlines(sizes.stored + sizes.new * sizes.repeats, NOW, "https://feed.test/rss")
    base, arrivals = corpus[: sizes.stored], corpus[sizes.stored :]
    store = Store(address)
    for start in range(0, len(base), 1_000):
        store.save(base[start : start + 1_000], NOW)
    feeds = [f"https://f{n}.test/rss" for n in range(sizes.feeds)]
    topics = {"t": feeds}
    runs: dict[str, list[float]] = {}
    for repeat in range(sizes.repeats):
        batch = arrivals[repeat * sizes.new : (repeat + 1) * sizes.new]
        outcomes = [FeedSuccess(url, "ok", 200, 12.0, etag=f'"{repeat}"') for url in feeds]
        version = store.version()

        def round_(batch: list = batch, outcomes: list = outcomes) -> None:  # type: ignore[type-arg]
            per_feed = max(1, len(batch) // len(feeds))
            for start in range(0, len(batch), per_feed):  # a save per feed, as a round does
                store.save(batch[start : start + per_feed], NOW)
            store.record_feeds(outcomes, NOW)

        runs.setdefault("a round stored", []).append(_timed(round_))
        runs.setdefault("store version x100", []).append(
            _timed(lambda: [store.version() for _ in range(100)])
        )
        runs.setdefault("arrivals since a version", []).append(
            _timed(lambda v=version: store.headlines_after(v, NOW - timedelta(days=7)))
        )
        runs.setdefault("the whole window read", []).append(
            _timed(lambda: store.headlines_after(None, NOW - timedelta(days=7)))
        )
        at = NOW + timedelta(hours=repeat)
        store.claim_feeds("bench", topics, at, timedelta(hours=1), timedelta(minutes=1), 10**6)
        runs.setdefault("idle claim poll", []).append(
            _timed(
                lambda at=at: store.claim_feeds(
                    "other", topics, at, timedelta(hours=1), timedelta(minutes=1), 10**6
                )
            )
        )
    return {name: _median(values) for name, values in runs.items()}


def run_backends(
    sizes: BackendSizes, log: Callable[[str], None], server: PgServer | None = None
) -> list[tuple[str, float, float]]:
    """(figure, SQLite seconds, PostgreSQL seconds) for each figure; on a cluster of its own
    unless `server` is given."""
    own = server is None
    server = server or PgServer()
    try:
        with tempfile.TemporaryDirectory() as folder:
            log("backends: SQLite")
            sqlite = _figures(Path(folder) / "news.db", sizes)
        log("backends: PostgreSQL")
        url = server.fresh_url()
        postgres = _figures(url, sizes)
        close_pools()
        server.drop(url)
    finally:
        if own:
            server.remove()
    return [(name, sqlite[name], postgres[name]) for name in sqlite]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backends", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    rows = run_backends(sizes, lambda line: print(line, file=sys.stderr, flush=True))
    print(
        f"{sizes.stored:,} stored; a round: {sizes.feeds} feeds, {sizes.new} new headlines; "
        f"median of {sizes.repeats}"
    )
    print("| figure | SQLite | PostgreSQL | ratio |\n|---|---|---|---|")
    for name, sqlite, postgres in rows:
        print(f"| {name} | {sqlite * 1000:.1f} ms | {postgres * 1000:.1f} ms | "
              f"{postgres / sqlite:.2f}× |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
