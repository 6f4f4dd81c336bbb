"""One shared store: several app servers and refreshers on PostgreSQL, and the page on
PostgreSQL against SQLite (issue 10's rows of `make bench`; `python -m bench --only backends`).

Four figures, each against a baseline of the same run, on one throwaway PostgreSQL cluster
(`support/pgserver.py`, as `bench/backends.py` and the tests start it):

- Requests per feed per period, 3 app servers against 1 (each with its refresher loop,
  NEWS_REFRESH=app, one PostgreSQL store, a short NEWS_REFRESH_EVERY), counted at a local
  feed server. Once every server answers, each feed's window opens at its first request and
  lasts `periods + ½` periods: `periods + 1` periods begin in it, so a fleet that asks each
  publisher once a period makes `periods + 1` requests per feed there (1.00 a period), and a
  duplicate fetch or a period skipped shows as anything else. The half period is the slack a
  loop's poll (2 s) and its round may add to each period.
- A cold round of N feeds (every item new) with 2 standalone refreshers against 1: N feeds
  served by a process of their own (`bench.feeds`), each answering after a delay spread
  evenly over a range (a publisher's latency: what makes a real round wait), a new
  PostgreSQL database per round, one or two running refresher loops (`bench.loop`: the loop
  of `python -m lib refresh --serve`, polling every 0.1 s). The round is timed from the
  moment the topics file names its feeds until the store shows every feed asked, and each
  loop's log says how many feeds it did ("refreshed N feeds" once a batch of up to 50).
  Without delays the round is bound by CPU: on a 2-core machine one loop's parse workers
  already take both cores, and two loops are no faster (docs/DEPLOY.md).
- The page's keyword and page-open figures (bench/browser.py's measurement: same corpus,
  same feed answering 304, fixed clock) on a server whose store is PostgreSQL against one on
  SQLite, both running, measured alternately.
- A round stored into PostgreSQL against SQLite (`bench/backends.py`'s figure).
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.apps import APP
from bench.backends import BackendSizes, run_backends
from bench.browser import (
    KEYWORDS,
    chromium,
    fill_store,
    marker,
    new_context,
    open_page,
    serve_wire,
    type_keyword,
)
from bench.feeds import BenchFeed, feed_process
from bench.units import ms, sec
from lib.store import Store
from lib.storedb import close_pools
from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.pgserver import PgServer
from support.servers import ROOT, Server, streamlit_server

if TYPE_CHECKING:
    from bench.report import Row

# The rows' labels (bench/report.py lists them in table order).
PER_PERIOD = "requests per feed per period, 3 app servers"
SPLIT = "round with 2 standalone refreshers: split"
ROUND_TIME = "round with 2 standalone refreshers: wall time"
PG_KEYWORD = "keyword typed, PostgreSQL store"
PG_OPEN = "page opened, PostgreSQL store"
PG_ROUND = "round stored into PostgreSQL"

# docs/DEPLOY.md's sizing: 14,000 feeds every 5 minutes.
SIZING_FEEDS = 14_000
SIZING_PERIOD = 300.0

# Feeds each loop refreshes before a timed round (bench.feeds makes them like the others).
WARM_FEEDS = 4

_REFRESHED = re.compile(r"refreshed (\d+) feeds")


@dataclass(frozen=True, slots=True)
class SharedSizes:
    """How big the shared-store benchmark is."""

    feeds: int  # feeds the app servers refresh (one headline each)
    period: float  # NEWS_REFRESH_EVERY of the app servers, seconds
    periods: int  # whole periods in each feed's window (then half a period of slack)
    round_feeds: int  # feeds of the standalone refreshers' round
    round_items: tuple[int, int]  # items per feed of that round
    round_delays: tuple[float, float]  # seconds its feeds take to answer (spread evenly)
    rounds: int  # rounds with one refresher, and as many with two (alternately)
    headlines: int  # stored for the page figures
    repeats: int  # page opens and keywords timed on each store (the median is kept)
    backends: BackendSizes


@dataclass
class PeriodFigures:
    """Requests of one fleet of app servers."""

    servers: int
    feeds: int
    periods: int
    requests: int  # in the feeds' windows
    closest: float  # seconds: the shortest gap between two requests for one feed

    @property
    def per_period(self) -> float:
        return self.requests / (self.feeds * (self.periods + 1))


@dataclass
class RoundFigures:
    """One round of the standalone refreshers."""

    refreshers: int
    wall: float
    done: list[int]  # feeds each process refreshed


@dataclass
class PageFigures:
    """Seconds, every repetition, on one store."""

    typed: list[float] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)


@dataclass
class SharedFigures:
    """Everything the part measured."""

    fleets: dict[int, PeriodFigures]
    rounds: list[RoundFigures]
    pages: dict[str, PageFigures]  # "sqlite", "postgresql"
    stored: dict[str, tuple[float, float]]  # figure: (SQLite, PostgreSQL) seconds
    sizes: SharedSizes


class _Stamps:
    """When each request reached the feed server (polled every 20 ms from its log)."""

    def __init__(self, feeds: FeedServer) -> None:
        self.feeds = feeds
        self.times: list[tuple[str, float]] = []
        self._seen = len(feeds.requests)  # those before are not stamped
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        seen = self._seen
        while not self._stop.wait(0.02):
            requests = self.feeds.requests
            now = time.monotonic()
            self.times += [(path, now) for path, _ in requests[seen:]]
            seen = len(requests)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _fleet(
    servers: int, pg: PgServer, sizes: SharedSizes, folder: Path, log: Callable[[str], None]
) -> PeriodFigures:
    """`servers` app servers with their refreshers on one new PostgreSQL store."""
    url = pg.fresh_url()
    Store(url)  # the schema, made once before the servers race for it
    paths = [f"/f{n}.xml" for n in range(sizes.feeds)]
    with FeedServer() as feeds, ExitStack() as running:
        when = datetime.now().astimezone() - timedelta(minutes=10)
        topics = folder / f"fleet-{servers}.toml"
        text = ""
        for path in paths:
            feeds.route(path, rss([Item(f"Headline of {path}", when)]))
            text += f'[[topic.source]]\nname = "{path}"\nurl = "{feeds.url(path)}"\n'
        topics.write_text(
            '[[topic]]\nslug = "t"\ntitle = "t"\nabout = "x"\nquery = "x"\n'
            f'timezone = "UTC"\n{text}'
        )
        env = {"NEWS_TOPICS": str(topics), "NEWS_DB": url, "NEWS_REFRESH": "app",
               "NEWS_REFRESH_EVERY": f"{sizes.period:g}"}  # fmt: skip
        for n in range(servers):
            running.enter_context(streamlit_server(APP, env, folder / f"fleet-{servers}-{n}.log"))
        stamps = _Stamps(feeds)  # every server answers: the windows may open
        window = (sizes.periods + 0.5) * sizes.period
        # Every feed is asked within a period and a poll or two; its window follows.
        time.sleep(sizes.period + 5 + window)
        stamps.stop()
    close_pools()
    pg.drop(url)
    by_feed: dict[str, list[float]] = {}
    for path, at in stamps.times:
        by_feed.setdefault(path.split("?")[0], []).append(at)
    requests, closest = 0, float("inf")
    for path in paths:
        times = sorted(by_feed.get(path, []))
        if times:
            requests += sum(1 for at in times if at < times[0] + window)
            closest = min([closest, *(b - a for a, b in itertools.pairwise(times))])
    figures = PeriodFigures(servers, len(paths), sizes.periods, requests, closest)
    log(
        f"shared: {servers} app server(s): {requests} requests for {len(paths)} feeds in "
        f"{sizes.periods + 1} periods each ({figures.per_period:.2f} a period); closest two "
        f"requests of a feed {closest:.1f} s apart (period {sizes.period:g} s)"
    )
    return figures


def _topics(path: Path, feeds: list[BenchFeed]) -> None:
    text = '[[topic]]\nslug = "t"\ntitle = "t"\nabout = "x"\nquery = "x"\ntimezone = "UTC"\n'
    for feed in feeds:
        text += f'[[topic.source]]\nname = "{feed.source.name}"\nurl = "{feed.source.url}"\n'
    path.write_text(text)


def _all_asked(store: Store, feeds: list[BenchFeed]) -> bool:
    states = store.feed_states([feed.source.url for feed in feeds])
    return all(state.last_attempt for state in states.values())


def _round(
    refreshers: int,
    pg: PgServer,
    feeds: list[BenchFeed],
    folder: Path,
    log: Callable[[str], None],
) -> RoundFigures:
    """One cold round of `feeds` by `refreshers` running loops (`bench.loop`) on a new store.

    The loops start on a topics file of `WARM_FEEDS` other feeds, and one of them refreshes
    those; once every loop says it is ready (imports done, connected to the store: what a
    running loop has) the topics file names the round's feeds instead, and the round is
    timed from that change until the store shows every feed asked."""
    warm, measured = feeds[:WARM_FEEDS], feeds[WARM_FEEDS:]
    url = pg.fresh_url()
    store = Store(url)  # the schema, made before the loops race for it
    topics = folder / f"round-{refreshers}.toml"
    _topics(topics, warm)
    env = {"NEWS_TOPICS": str(topics), "NEWS_DB": url, "NEWS_REFRESH_EVERY": "3600"}
    logs = [folder / f"round-{refreshers}-{n}.log" for n in range(refreshers)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.loop"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=path.open("wb"),
        )
        for path in logs
    ]
    try:
        deadline = time.monotonic() + 120
        while not _all_asked(store, warm) or not all(_started(path) for path in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"the loops did not start:\n{logs[0].read_text()[-2000:]}")
            time.sleep(0.1)
        time.sleep(1)  # every loop waiting for due feeds
        offsets = [path.stat().st_size for path in logs]
        started = time.perf_counter()
        _topics(topics, measured)
        while not _all_asked(store, measured):
            if any(process.poll() is not None for process in processes):
                raise RuntimeError(f"a loop stopped:\n{logs[0].read_text()[-2000:]}")
            time.sleep(0.05)
        wall = time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    # Each loop logs "refreshed N feeds: …" once a batch; those after the change count.
    done = [
        sum(map(int, _REFRESHED.findall(path.read_bytes()[offset:].decode())))
        for path, offset in zip(logs, offsets, strict=True)
    ]
    close_pools()
    pg.drop(url)
    log(f"shared: a round with {refreshers} refresher(s): {wall:.2f} s; feeds each {done}")
    return RoundFigures(refreshers, wall, done)


def _started(log: Path) -> bool:
    """Whether a loop is connected to the store and looking for due feeds."""
    return b" ready" in log.read_bytes()


def _rounds(
    pg: PgServer, sizes: SharedSizes, now: datetime, folder: Path, log: Callable[[str], None]
) -> list[RoundFigures]:
    results = []
    count = WARM_FEEDS + sizes.round_feeds
    with feed_process(count, sizes.round_items, sizes.round_delays, now) as feeds:
        for _ in range(sizes.rounds):
            for refreshers in (1, 2):
                results.append(_round(refreshers, pg, feeds, folder, log))
    return results


def _pages(
    pg: PgServer, sizes: SharedSizes, now: datetime, folder: Path, log: Callable[[str], None]
) -> dict[str, PageFigures]:
    """bench/browser.py's page-open and keyword figures, on SQLite and on PostgreSQL."""
    url = pg.fresh_url()
    stores = {"sqlite": str(folder / "page.db"), "postgresql": url}
    results = {name: PageFigures() for name in stores}
    with FeedServer() as feeds, chromium() as browser, ExitStack() as running:
        wire = serve_wire(feeds, now, folder)
        apps: dict[str, Server] = {}
        for name, db in stores.items():
            started = time.perf_counter()
            fill_store(db, sizes.headlines, now, wire.url, wire.etag, wire.modified)  # type: ignore[arg-type]
            log(f"shared: {sizes.headlines} headlines stored in {name} in "
                f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            env = {"NEWS_TOPICS": str(wire.topics), "NEWS_DB": db,
                   "NEWS_CLOCK": now.isoformat(), "NEWS_CACHE_TTL": "3600"}  # fmt: skip
            apps[name] = running.enter_context(
                streamlit_server(APP, env, folder / f"page-{name}.log")
            )
        contexts = {name: running.enter_context(_closing(new_context(browser, app)))
                    for name, app in apps.items()}  # fmt: skip
        first = marker(KEYWORDS[0])
        for name, app in apps.items():  # the first open fills the caches: not timed
            _, page = open_page(contexts[name], app.url, first)
            page.close()
        for _ in range(sizes.repeats):
            for name, app in apps.items():
                seconds, page = open_page(contexts[name], app.url, first)
                results[name].opened.append(seconds)
                page.close()
        pages = {}
        for name, app in apps.items():
            _, pages[name] = open_page(contexts[name], app.url, first)
            type_keyword(pages[name], KEYWORDS[0], first, marker(KEYWORDS[1]))  # warm-up
        for rep in range(1, sizes.repeats + 1):
            keyword, before = KEYWORDS[rep], KEYWORDS[rep - 1]
            for name in apps:
                results[name].typed.append(
                    type_keyword(pages[name], keyword, marker(keyword), marker(before)).seconds
                )
    close_pools()
    pg.drop(url)
    for name, f in results.items():
        log(f"shared: page on {name}: open {ms(f.opened)} ms; keyword {ms(f.typed)} ms")
    return results


@contextmanager
def _closing(context: object) -> Iterator[object]:
    try:
        yield context
    finally:
        context.close()  # type: ignore[attr-defined]


def run_shared(sizes: SharedSizes, now: datetime, log: Callable[[str], None]) -> SharedFigures:
    """Start one PostgreSQL cluster and measure the four figures on it."""
    pg = PgServer()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-shared-") as tmp:
            folder = Path(tmp)
            fleets = {n: _fleet(n, pg, sizes, folder, log) for n in (1, 3)}
            rounds = _rounds(pg, sizes, now, folder, log)
            pages = _pages(pg, sizes, now, folder, log)
        stored = {name: (s, p) for name, s, p in run_backends(sizes.backends, log, server=pg)}
    finally:
        close_pools()
        pg.remove()
    return SharedFigures(fleets, rounds, pages, stored, sizes)


def describe(f: SharedFigures) -> list[str]:
    """Every figure of the part, for the details list."""
    lines = [
        f"shared store, {n} app server(s) with their refreshers on PostgreSQL, {fleet.feeds} "
        f"feeds, period {f.sizes.period:g} s: {fleet.requests} requests in {fleet.periods + 1} "
        f"periods per feed; closest two requests of one feed {fleet.closest:.1f} s apart "
        "(a period runs from claim to claim: a request that waited on its batch makes the "
        "next one come sooner after it)"
        for n, fleet in sorted(f.fleets.items())
    ]
    lines.append(
        f"standalone refreshers, cold round of {f.sizes.round_feeds} feeds on PostgreSQL "
        "(s; feeds each): "
        + "; ".join(
            f"{r.refreshers}: {r.wall:.2f} ({'/'.join(map(str, r.done))})" for r in f.rounds
        )
    )
    for name, page in f.pages.items():
        lines.append(
            f"page on {name}, {f.sizes.headlines:,} headlines (ms): open {ms(page.opened)}; "
            f"keyword {ms(page.typed)}"
        )
    lines.append(
        "store calls, SQLite / PostgreSQL (ms): "
        + "; ".join(f"{name} {s * 1000:.1f} / {p * 1000:.1f}" for name, (s, p) in f.stored.items())
    )
    return lines


def shared_rows(f: SharedFigures) -> list[Row]:
    """The six rows: requests per period, the split and the time of a round with two
    refreshers, the page's keyword and open on PostgreSQL, a round stored."""
    from bench.report import Row  # here, so that bench.report may import this module

    one, three = f.fleets[1], f.fleets[3]
    equal = one.requests == three.requests == one.feeds * (one.periods + 1)
    period = (
        f"{one.feeds} feeds, NEWS_REFRESH_EVERY={f.sizes.period:g} s, "
        f"{one.periods + 1} periods each, one PostgreSQL store"
    )
    singles = [r.wall for r in f.rounds if r.refreshers == 1]
    pairs = [r for r in f.rounds if r.refreshers == 2]
    shares = [max(r.done) / sum(r.done) for r in pairs]
    worst = max(shares)
    worst_round = pairs[shares.index(worst)]
    one_wall, two_wall = statistics.median(singles), statistics.median(r.wall for r in pairs)
    low, high = f.sizes.round_delays
    round_ = (
        f"{f.sizes.round_feeds} feeds cold, answering in {low:g}–{high:g} s, PostgreSQL, "
        "running loops"
    )
    median = statistics.median
    sqlite, postgres = f.pages["sqlite"], f.pages["postgresql"]
    pages = f"{f.sizes.headlines:,} headlines, median of {f.sizes.repeats}"
    typed, base_typed = median(postgres.typed), median(sqlite.typed)
    opened, base_opened = median(postgres.opened), median(sqlite.opened)
    s, p = f.stored["a round stored"]
    b = f.sizes.backends
    # One writer storing every round of the sizing (docs/DEPLOY.md) within its period.
    keeps_up = SIZING_PERIOD * b.feeds / SIZING_FEEDS
    return [
        Row(PER_PERIOD, period, "1 app server, same feeds",
            f"{three.per_period:.2f} ({three.requests} requests)",
            f"{one.per_period:.2f} ({one.requests} requests)",
            f"{three.per_period / one.per_period:.2f}×", "1.00× (each feed once a period)",
            equal),
        Row(SPLIT, f"{round_}, most uneven of {len(pairs)}", "an even split (50/50)",
            "/".join(str(n) for n in sorted(worst_round.done, reverse=True)) + " feeds",
            "50/50", f"{worst * 100:.0f}/{100 - worst * 100:.0f}", "within 40/60",
            worst <= 0.6),
        Row(ROUND_TIME, f"{round_}, median of {len(pairs)}", "1 refresher, same round",
            sec(two_wall), sec(one_wall), f"{two_wall / one_wall:.2f}×", "≤ 1.0× (no slower)",
            two_wall <= one_wall),
        Row(PG_KEYWORD, pages, "the same page on SQLite, same browser", sec(typed),
            sec(base_typed), f"{typed / base_typed:.2f}×", "≤ 1.2×", typed / base_typed <= 1.2),
        Row(PG_OPEN, pages, "the same page on SQLite, same browser", sec(opened),
            sec(base_opened), f"{opened / base_opened:.2f}×", "≤ 1.2×",
            opened / base_opened <= 1.2),
        Row(PG_ROUND, f"{b.feeds} feeds, {b.new:,} new headlines into {b.stored:,}, median of "
            f"{b.repeats}", "SQLite, same calls", sec(p), sec(s), f"{p / s:.2f}×",
            f"≤ {keeps_up:.2f} s (the store keeps up with {SIZING_FEEDS:,} feeds in "
            f"{SIZING_PERIOD / 60:g} min)", p <= keeps_up),
    ]  # fmt: skip
