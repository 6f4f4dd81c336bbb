"""Refresh figures: a cold refresh of every source, and a second round that is all 304s.

Each figure comes with its baseline from the same run:
- cold refresh vs the slowest single source refreshed alone through the same code path;
- cold refresh vs a plain serial loop of `feedparser.parse(url)` (feedparser's own HTTP);
- the 304 round vs the slowest single conditional round trip, with every parse counted.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

import feedparser

import lib.refresh
from bench.feeds import BenchFeed, feed_process
from bench.units import ms
from lib.fetch import FetchLimits, FetchStatus, Validators, fetch_one, make_session
from lib.model import Source
from lib.refresh import RefreshReport, refresh_sources
from lib.store import Store

# What the app uses: ui/data.py passes FetchLimits(deadline=NEWS_FETCH_DEADLINE), 20 s by default.
APP_LIMITS = FetchLimits(deadline=20.0)


@dataclass(frozen=True, slots=True)
class RefreshSizes:
    """How big the refresh benchmark is."""

    sources: int
    items: tuple[int, int]
    delays: tuple[float, float]  # seconds
    repeats: int  # of each timed refresh (the median is kept)
    slow_candidates: int  # the slowest few sources, each timed alone


@dataclass(frozen=True, slots=True)
class RefreshFigures:
    """Seconds measured (medians), and what the 304 round parsed."""

    sources: int
    items: int  # in all feeds together
    cold: float
    cold_all: tuple[float, ...]
    slowest_alone: float
    slowest_name: str
    feedparser_loop: float
    not_modified: float
    not_modified_all: tuple[float, ...]
    slowest_round_trip: float
    answered_304: int  # sources whose second-round answer was a real 304
    parses_in_304_round: int  # lib.parse.parse_feed calls
    feedparser_calls_in_304_round: int  # feedparser.parse calls


class _Counter:
    """Wraps a function and counts its calls."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


@contextmanager
def counting_parses() -> Iterator[tuple[_Counter, _Counter]]:
    """Count calls of `lib.parse.parse_feed` (as refresh calls it) and of `feedparser.parse`."""
    parse_feed = _Counter(lib.refresh.parse_feed)
    feedparser_parse = _Counter(feedparser.parse)
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(lib.refresh, "parse_feed", parse_feed))
        stack.enter_context(mock.patch.object(feedparser, "parse", feedparser_parse))
        yield parse_feed, feedparser_parse


def _timed_refresh(
    sources: list[Source], store: Store, now: datetime
) -> tuple[float, RefreshReport]:
    started = time.perf_counter()
    report = refresh_sources("bench", sources, store, now, APP_LIMITS)
    return time.perf_counter() - started, report


def _check(report: RefreshReport, expect: FetchStatus) -> None:
    wrong = [r for r in report.sources if r.status is not expect]
    if wrong:
        first = wrong[0]
        raise RuntimeError(
            f"{len(wrong)} of {len(report.sources)} sources ended {first.status} "
            f"instead of {expect} (first: {first.source.url}: {first.error})"
        )


def _slowest_round_trip(feeds: list[BenchFeed], store: Store, repeats: int) -> float:
    """The slowest source's conditional GET alone (with the validators stored), seconds."""
    slowest = max(feeds, key=lambda feed: feed.delay)
    state = store.feed_states([slowest.source.url])[slowest.source.url]
    sent = Validators(etag=state.etag, last_modified=state.last_modified)
    times = []
    for _ in range(repeats):
        with make_session(APP_LIMITS) as session:
            started = time.perf_counter()
            result = fetch_one(session, slowest.source.url, sent, APP_LIMITS)
            times.append(time.perf_counter() - started)
        if result.status is not FetchStatus.NOT_MODIFIED:
            raise RuntimeError(f"expected 304 from {slowest.source.url}, got {result.status}")
    return statistics.median(times)


def run_refresh(sizes: RefreshSizes, now: datetime, log: Callable[[str], None]) -> RefreshFigures:
    """Serve the feeds and time the refresh figures."""
    with (
        feed_process(sizes.sources, sizes.items, sizes.delays, now) as feeds,
        tempfile.TemporaryDirectory(prefix="bench-refresh-") as tmp,
    ):
        folder = Path(tmp)
        sources = [feed.source for feed in feeds]
        total_items = sum(feed.items for feed in feeds)
        log(
            f"refresh: {len(feeds)} feeds, {total_items} items, "
            f"{sum(f.size for f in feeds) // 1024} KiB, delays "
            f"{sizes.delays[0] * 1000:.0f}-{sizes.delays[1] * 1000:.0f} ms"
        )

        # The slowest single source: the few with the longest delays, each alone, fresh store.
        by_delay = sorted(feeds, key=lambda feed: (feed.delay, feed.items), reverse=True)
        slowest_alone, slowest_name = 0.0, ""
        for feed in by_delay[: sizes.slow_candidates]:
            times = []
            for run in range(sizes.repeats):
                store = Store(folder / f"alone-{feed.source.name}-{run}.db")
                seconds, report = _timed_refresh([feed.source], store, now)
                _check(report, FetchStatus.OK)
                times.append(seconds)
            if statistics.median(times) > slowest_alone:
                slowest_alone, slowest_name = statistics.median(times), feed.source.name
        log(f"refresh: slowest source alone {slowest_alone * 1000:.0f} ms ({slowest_name})")

        # Cold refresh of all sources, fresh store each time; the last store is kept warm.
        cold_times = []
        store = Store(folder / "cold-0.db")
        for run in range(sizes.repeats):
            store = Store(folder / f"cold-{run}.db")
            seconds, report = _timed_refresh(sources, store, now)
            _check(report, FetchStatus.OK)
            cold_times.append(seconds)
        cold = statistics.median(cold_times)
        log(f"refresh: cold {cold * 1000:.0f} ms (runs: {ms(cold_times)})")

        # The peers' way: feedparser fetching each URL itself, one after the other.
        started = time.perf_counter()
        for source in sources:
            parsed = feedparser.parse(source.url)
            if not parsed.entries:
                raise RuntimeError(f"feedparser read no entries from {source.url}")
        loop = time.perf_counter() - started
        log(f"refresh: feedparser.parse(url) loop {loop * 1000:.0f} ms")

        # The second round: every source has validators, every answer is a 304.
        round_trip = _slowest_round_trip(feeds, store, sizes.repeats)
        log(f"refresh: slowest 304 round trip {round_trip * 1000:.0f} ms")
        nm_times = []
        parses = feedparser_calls = answered_304 = 0
        for _ in range(sizes.repeats):
            with counting_parses() as (parse_feed, feedparser_parse):
                seconds, report = _timed_refresh(sources, store, now)
            _check(report, FetchStatus.NOT_MODIFIED)
            nm_times.append(seconds)
            parses += parse_feed.calls + sum(r.parsed for r in report.sources)
            feedparser_calls += feedparser_parse.calls
            answered_304 = sum(r.http_status == 304 for r in report.sources)
        not_modified = statistics.median(nm_times)
        log(
            f"refresh: all-304 round {not_modified * 1000:.0f} ms (runs: {ms(nm_times)}); "
            f"{answered_304} answered 304, parses {parses}, feedparser calls {feedparser_calls}"
        )
    return RefreshFigures(
        sources=len(feeds),
        items=total_items,
        cold=cold,
        cold_all=tuple(cold_times),
        slowest_alone=slowest_alone,
        slowest_name=slowest_name,
        feedparser_loop=loop,
        not_modified=not_modified,
        not_modified_all=tuple(nm_times),
        slowest_round_trip=round_trip,
        answered_304=answered_304,
        parses_in_304_round=parses,
        feedparser_calls_in_304_round=feedparser_calls,
    )
