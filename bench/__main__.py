"""`python -m bench`: run every figure, print the table, write it to BENCHMARKS.md.

`--quick` runs small sizes once (the smoke run `make test` does) and writes nothing.
`--only PART` runs one part (refresh, browser, floor, load, stories, index, subscribe,
fresh, backends) and writes nothing.
`--sessions` and `--interval` change the crowd of the load figures (50 sessions, one keyword
every 5 s each by default).
Progress goes to standard error; the table to standard output.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.backends import BackendSizes
from bench.browser import BrowserSizes, run_browser
from bench.floor import FloorSizes, floor_rows, run_floor
from bench.fresh import FreshSizes, fresh_rows, run_fresh
from bench.fresh import describe as describe_fresh
from bench.index import IndexSizes, index_rows, run_index
from bench.load import LoadSizes, run_load
from bench.refresh import RefreshSizes, run_refresh
from bench.report import (
    Row,
    browser_rows,
    load_rows,
    markdown_block,
    refresh_rows,
    table,
    write_benchmarks,
)
from bench.shared import SharedSizes, run_shared, shared_rows
from bench.shared import describe as describe_shared
from bench.stories import describe, run_stories, story_rows
from bench.subscribe import SubscribeSizes, run_subscribe, subscribe_rows
from bench.units import ms
from support.servers import ROOT

# The fixed clock: the seed page's (18 Sep 2024 04:22 in London).
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)

FULL = (
    RefreshSizes(sources=40, items=(50, 200), delays=(0.2, 0.8), repeats=3, slow_candidates=3),
    BrowserSizes(full=(10_000, 100_000), growth=(1_000, 10_000, 100_000), repeats=12),
    # A demo audience: 50 people, each typing a keyword every 5 s on average (2.5-7.5 s:
    # typing a word, Enter, a glance at the list), so 10 keywords a second reach the server.
    LoadSizes(headlines=10_000, sessions=50, interval=5.0, repeats=10, ramp=10.0, settle=5.0),
    (10_000, 100_000),  # stored headlines for the story assignment figure
    IndexSizes(stored=100_000, added=200, repeats=5, grouped_repeats=5),
    SubscribeSizes(headlines=10_000, repeats=20),
    FreshSizes(stored=(10_000, 100_000), repeats=3),
    SharedSizes(
        feeds=20,
        period=10.0,
        periods=1,
        round_feeds=200,
        round_items=(20, 40),
        round_delays=(0.1, 2.0),
        rounds=3,
        headlines=10_000,
        repeats=8,
        backends=BackendSizes(stored=10_000, feeds=200, new=1_000, repeats=5),
    ),
    FloorSizes(headlines=10_000, repeats=12),
)
QUICK = (
    RefreshSizes(sources=5, items=(20, 20), delays=(0.05, 0.05), repeats=1, slow_candidates=1),
    BrowserSizes(full=(300,), growth=(100, 300, 1_000), repeats=1),
    LoadSizes(headlines=300, sessions=3, interval=1.0, repeats=1, ramp=0.5, settle=1.0),
    (300, 1_000),
    IndexSizes(stored=2_000, added=50, repeats=1, grouped_repeats=1),
    SubscribeSizes(headlines=300, repeats=2),
    FreshSizes(stored=(300,), repeats=1),
    SharedSizes(
        feeds=5,
        period=6.0,
        periods=1,
        round_feeds=100,
        round_items=(5, 10),
        round_delays=(0.05, 0.5),
        rounds=1,
        headlines=300,
        repeats=1,
        backends=BackendSizes(stored=1_000, feeds=20, new=100, repeats=1),
    ),
    FloorSizes(headlines=300, repeats=1),
)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran, whatever the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument(
        "--only",
        choices=(
            "refresh",
            "browser",
            "floor",
            "load",
            "stories",
            "index",
            "subscribe",
            "fresh",
            "backends",
        ),
        help="run one part (writes nothing)",
    )
    parser.add_argument("--sessions", type=int, help="sessions of the load figures' crowd")
    parser.add_argument(
        "--interval", type=float, help="mean seconds between one crowd session's keywords"
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "BENCHMARKS.md", help="where the table goes"
    )
    args = parser.parse_args(argv)
    (
        refresh_sizes,
        browser_sizes,
        load_sizes,
        story_sizes,
        index_sizes,
        subscribe_sizes,
        fresh_sizes,
        shared_sizes,
        floor_sizes,
    ) = QUICK if args.quick else FULL
    load_sizes = replace(
        load_sizes,
        sessions=args.sessions or load_sizes.sessions,
        interval=args.interval or load_sizes.interval,
    )

    started_at, started = datetime.now(UTC), time.monotonic()
    rows: list[Row] = []
    details: list[str] = []
    if args.only in (None, "refresh"):
        figures = run_refresh(refresh_sizes, NOW, _log)
        rows += refresh_rows(figures)
        details += [
            f"refresh: cold runs {_list(figures.cold_all)}; slowest source alone "
            f"{figures.slowest_alone:.3f} ({figures.slowest_name}); feedparser loop "
            f"{figures.feedparser_loop:.3f}; all-304 runs {_list(figures.not_modified_all)}; "
            f"slowest 304 round trip {figures.slowest_round_trip:.3f}",
        ]
    if args.only in (None, "browser"):
        browser = run_browser(browser_sizes, NOW, _log)
        rows += browser_rows(browser)
        for size, f in sorted(browser.by_size.items()):
            more = (
                f"; publication filter {ms(f.picked)}, trivial {ms(f.trivial_picked)}"
                f"; page open {ms(f.opened)}, trivial {ms(f.trivial_opened)}"
                f"; first headline drawn {ms(f.seen)}, trivial's output {ms(f.trivial_seen)}"
                f"; view more {ms(f.more)}, trivial {ms(f.trivial_more)}"
                if f.opened
                else ""
            )
            server = "".join(
                f"; {kind} until its last message {_median_ms(times)}"
                for kind, times in f.server.items()
            )
            details.append(
                f"browser, {size:,} headlines: first open (cold cache) {f.first_open * 1000:.0f}; "
                f"keyword {ms(f.typed)}, trivial {ms(f.trivial_typed)}{more}{server}; "
                f"memory {f.rss_mb:.0f} MB, trivial {f.trivial_rss_mb:.0f} MB"
            )
    if args.only in (None, "floor"):
        floor = run_floor(floor_sizes, _log)
        rows += floor_rows(floor)
        details.append(
            f"floor (bench/floor_app.py), {floor.headlines:,} headlines (ms): text typed "
            f"{ms(floor.typed)}, trivial {ms(floor.trivial_typed)}; page open "
            f"{ms(floor.opened)}, trivial {ms(floor.trivial_opened)}"
        )
    if args.only in (None, "load"):
        load = run_load(load_sizes, NOW, _log)
        rows += load_rows(load)
        crowd = load.crowd
        details.append(
            f"load, {load_sizes.headlines:,} headlines, {load_sizes.sessions} sessions each "
            f"typing a keyword every {load_sizes.interval:g} s on average: idle page open "
            f"{ms(load.idle_opened)}, keyword {ms(load.idle_typed)}, memory "
            f"{load.idle_rss_mb:.0f} MB; under load page open {ms(load.loaded_opened)}, "
            f"keyword {ms(load.loaded_typed)}, memory {load.loaded_rss_mb:.0f} MB (peak); "
            f"the crowd: first pages median {_median_ms(crowd.first_runs)}, slowest "
            f"{max(crowd.first_runs, default=0) * 1000:.0f}; {len(crowd.keyword_runs)} "
            f"keywords answered ({crowd.rate:.1f}/s), median {crowd.median() * 1000:.0f} ms, "
            f"{len(crowd.errors)} errors; its own CPU {crowd.cpu_seconds:.1f} s "
            f"in {crowd.wall_seconds:.0f} s; the server's CPU meanwhile {load.loaded_cpu:.1f} s, "
            f"{load.cpu_ms_per_run():.0f} ms a script run"
        )
    if args.only in (None, "stories"):
        # compare=False: counting how stories differ from regrouping adds minutes at 100k
        # (docs/STORIES.md has those counts).
        stories = run_stories(story_sizes, NOW, _log, compare=False)
        rows += story_rows(stories)
        details += [f"stories: {describe(f)}" for f in stories]
    if args.only in (None, "index"):
        index = run_index(index_sizes, NOW, _log)
        rows += index_rows(index)
        details.append(
            "index: "
            + "; ".join(f"{name} {ms(list(values))}" for name, values in index.runs.items())
        )
    if args.only in (None, "subscribe"):
        feeds = run_subscribe(subscribe_sizes, NOW, _log)
        rows += subscribe_rows(feeds)
        details.append(
            f"subscribe, {feeds.headlines:,} headlines (ms): a view not asked before "
            f"{ms(feeds.fresh)}; polled again {ms(feeds.again)}; 304 "
            f"{ms(feeds.not_modified)}; trivial health {ms(feeds.health)}"
        )
    if args.only in (None, "fresh"):
        fresh = run_fresh(fresh_sizes, NOW, _log)
        rows += fresh_rows(fresh)
        details += [describe_fresh(f) for f in fresh]
    if args.only in (None, "backends"):
        shared = run_shared(shared_sizes, NOW, _log)
        rows += shared_rows(shared)
        details += describe_shared(shared)
    seconds = time.monotonic() - started

    print(table(rows))
    targets = [row for row in rows if not row.informational]
    print(f"\n{len(rows)} rows, {sum(row.met for row in targets)} of {len(targets)} targets met, "
          f"in {seconds:.0f} s")  # fmt: skip
    if not args.quick and args.only is None:
        write_benchmarks(args.output, markdown_block(rows, details, started_at, seconds))
        print(f"written to {args.output}")
    return 0


def _list(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f}" if values else "none"


if __name__ == "__main__":
    sys.exit(main())
