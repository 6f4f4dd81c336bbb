"""Per-feed cost of a refresher round, for sizing (docs/DEPLOY.md): `python -m bench.perfeed`.

One loop (`lib.refresher.refresh_round`, as `python -m lib refresh` runs it) over N feeds
served by a process of their own (`bench.feeds`, no delay), into a new store at NEWS_DB's
kind of address (an SQLite file in a temporary folder unless `--db` is given; `--pg` starts
a throwaway PostgreSQL server, support/pgserver.py, and adds what it spent: its CPU and its
commits, bench/pgstats.py). Two rounds:
cold (every item new: fetch, parse, store, assign stories) and every feed answering 304
(claims and feed states only). CPU is this process's and its parse workers' (the pool is
shut down after each round so their time is counted).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.feeds import feed_process
from bench.pgstats import commits, database_bytes, server_cpu, settle
from lib.config import load_settings
from lib.parse.pool import PARSE_POOL
from lib.refresher import owner_id, refresh_round
from lib.store import Store
from lib.storedb import close_pools
from support.pgserver import PgServer


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.perfeed", description=__doc__)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, nargs=2, default=(20, 40))
    parser.add_argument("--db", help="the store's address (default: a new SQLite file)")
    parser.add_argument(
        "--pg", action="store_true", help="a new database on a throwaway PostgreSQL server"
    )
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    pg = PgServer() if args.pg else None
    try:
        _rounds(args, now, pg)
    finally:
        if pg is not None:
            close_pools()
            pg.remove()


def _rounds(args: argparse.Namespace, now: datetime, pg: PgServer | None) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        feed_process(args.feeds, tuple(args.items), (0.0, 0.0), now) as feeds,
    ):
        topics = Path(folder) / "topics.toml"
        text = '[[topic]]\nslug = "t"\ntitle = "t"\nabout = "x"\nquery = "x"\ntimezone = "UTC"\n'
        for feed in feeds:
            text += f'[[topic.source]]\nname = "{feed.source.name}"\nurl = "{feed.source.url}"\n'
            text += "topical = true\n"
        topics.write_text(text)
        db = pg.fresh_url() if pg else args.db or str(Path(folder) / "news.db")
        config = load_settings({"NEWS_TOPICS": str(topics), "NEWS_DB": db})
        empty = database_bytes(db) if pg else 0
        store = Store(db)
        items = sum(feed.items for feed in feeds)
        print(f"{len(feeds)} feeds, {items} items, store {db}")
        for name in ("cold (every item new)", "every feed answers 304"):
            if pg:
                close_pools()  # the sessions end: their commits are counted
                settle()
                pg_cpu, pg_commits = server_cpu(pg), commits(db)
            cpu, start = _cpu(), time.perf_counter()
            reports = refresh_round(
                config, store, owner_id(), lambda: datetime.now(UTC), every=timedelta(0)
            )
            wall = time.perf_counter() - start
            PARSE_POOL.shutdown()  # its workers' CPU is counted once they are waited for
            cpu = _cpu() - cpu
            done = sum(len(report.sources) for report in reports)
            new = sum(report.new for report in reports)
            per_new = f" ({cpu / new * 1000:.2f} ms per new headline)" if new else ""
            print(f"{name}: {done} feeds, {new} new headlines: wall {wall / done * 1000:.1f} ms "
                  f"per feed, CPU {cpu / done * 1000:.1f} ms per feed{per_new}")  # fmt: skip
            if pg:
                close_pools()
                settle()
                spent, made = server_cpu(pg) - pg_cpu, commits(db) - pg_commits - 2
                print(f"  PostgreSQL: CPU {spent / done * 1000:.1f} ms per feed "
                      f"({spent / cpu * 100:.0f}% of the loop's), {made} commits "
                      f"({made / done:.2f} per feed, {made / wall:.0f} a second)")  # fmt: skip
        if pg:
            size = database_bytes(db) - empty
            print(f"store: {size / 1024:,.0f} KiB for {store.count():,} headlines "
                  f"({size / store.count() / 1024:.2f} KiB each)")  # fmt: skip
        files = [Path(db + suffix) for suffix in ("", "-wal")]
        if "://" not in db and all(f.exists() for f in files[:1]):
            size = sum(f.stat().st_size for f in files if f.exists())
            print(f"store: {size / 1024:,.0f} KiB for {store.count():,} headlines "
                  f"({size / store.count() / 1024:.2f} KiB each)")  # fmt: skip


if __name__ == "__main__":
    main()
