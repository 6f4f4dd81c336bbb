"""Load figures: one app server, a probe in chromium, idle and then under a crowd of sessions.

The app runs on a store of N headlines (as in the browser figures). The probe, a real
chromium tab as in bench/browser.py, times page opens and typed keywords against the server
idle; then `bench.sessions` connects the crowd (websocket sessions that each type a keyword
at the chosen rate) and the probe measures the same things again while the crowd keeps
typing. The server's memory (the process tree's RSS) is read idle and sampled under load.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page

from bench.apps import cpu_seconds, rss_mb
from bench.browser import (
    KEYWORDS,
    app_on_store,
    chromium,
    marker,
    new_context,
    open_page,
    serve_wire,
    type_keyword,
)
from bench.sessions import LoadPlan, LoadStats, SessionLoad
from bench.units import ms
from support.feedserver import FeedServer
from support.servers import Server
from ui.consent import COOKIE

TIMEZONE = "Europe/London"


@dataclass(frozen=True, slots=True)
class LoadSizes:
    """How big the load benchmark is."""

    headlines: int  # stored headlines
    sessions: int  # concurrent sessions of the crowd
    interval: float  # mean seconds between one session's keywords
    repeats: int  # timed page opens and keywords of the probe, idle and again under load
    ramp: float  # seconds over which the crowd connects
    settle: float  # seconds of load before the probe starts timing


@dataclass
class LoadFigures:
    """Seconds of every probe repetition, idle and under load; memory in MB."""

    sizes: LoadSizes
    idle_opened: list[float] = field(default_factory=list)
    loaded_opened: list[float] = field(default_factory=list)
    idle_typed: list[float] = field(default_factory=list)
    loaded_typed: list[float] = field(default_factory=list)
    idle_rss_mb: float = 0.0
    loaded_rss_mb: float = 0.0  # the most seen while the crowd ran
    loaded_cpu: float = 0.0  # the server's CPU seconds while the crowd ran
    probe_runs: int = 0  # script runs the probe asked for meanwhile
    crowd: LoadStats = field(default_factory=LoadStats)

    @staticmethod
    def median(values: Sequence[float]) -> float:
        """The median of the repetitions."""
        return statistics.median(values)

    def cpu_ms_per_run(self) -> float:
        """The server's CPU time under load over the script runs it answered meanwhile
        (the crowd's first pages and keywords, the probe's opens and keywords), in ms."""
        runs = len(self.crowd.first_runs) + len(self.crowd.keyword_runs) + self.probe_runs
        return self.loaded_cpu * 1000 / runs if runs else 0.0


def run_load(sizes: LoadSizes, now: datetime, log: Callable[[str], None]) -> LoadFigures:
    """Start the app and the browser, measure idle, start the crowd, measure again."""
    if 2 * sizes.repeats + 1 > len(KEYWORDS):
        raise ValueError(f"at most {(len(KEYWORDS) - 1) // 2} repetitions (one keyword each)")
    with (
        FeedServer() as feeds,
        tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
        chromium() as browser,
    ):
        folder = Path(tmp)
        wire = serve_wire(feeds, now, folder)
        with app_on_store(wire, folder, sizes.headlines, now, lambda s: log(f"load: {s}")) as app:
            return _measure(browser, app, sizes, log)


def _measure(
    browser: Browser, app: Server, sizes: LoadSizes, log: Callable[[str], None]
) -> LoadFigures:
    figures = LoadFigures(sizes=sizes)
    context = new_context(browser, app)
    want = marker(KEYWORDS[0])
    try:
        seconds, page = open_page(context, app.url, want)  # fills the caches: not timed
        page.close()
        log(f"load: first open {seconds:.2f} s (cache cold)")
        _, probe = open_page(context, app.url, want)
        type_keyword(probe, KEYWORDS[0], want, marker(KEYWORDS[1]))  # the box's first use

        idle_words = KEYWORDS[1 : sizes.repeats + 1]
        _probe(
            context, app, probe, idle_words, KEYWORDS[0], figures.idle_opened, figures.idle_typed
        )
        figures.idle_rss_mb = rss_mb(app)
        log(
            f"load: idle: page open {ms(figures.idle_opened)} ms; keyword "
            f"{ms(figures.idle_typed)} ms; memory {figures.idle_rss_mb:.0f} MB"
        )

        plan = LoadPlan(
            url=app.url,
            sessions=sizes.sessions,
            interval=sizes.interval,
            ramp=sizes.ramp,
            cookie=f"{COOKIE}=1",
            timezone=TIMEZONE,
        )
        started, cpu = time.perf_counter(), cpu_seconds(app)
        with _peak_rss(app) as peak, SessionLoad(plan) as crowd:
            log(
                f"load: {sizes.sessions} sessions drew their first page in "
                f"{time.perf_counter() - started:.1f} s"
            )
            time.sleep(sizes.settle)
            loaded_words = KEYWORDS[sizes.repeats + 1 : 2 * sizes.repeats + 1]
            _probe(
                context, app, probe, loaded_words, idle_words[-1],
                figures.loaded_opened, figures.loaded_typed,
            )  # fmt: skip
        figures.loaded_cpu = cpu_seconds(app) - cpu
        figures.probe_runs = 2 * sizes.repeats
        figures.loaded_rss_mb = peak[0]
        figures.crowd = crowd.stats
        probe.close()
    finally:
        context.close()
    stats = figures.crowd
    log(
        f"load: under load: page open {ms(figures.loaded_opened)} ms; keyword "
        f"{ms(figures.loaded_typed)} ms; memory {figures.loaded_rss_mb:.0f} MB (peak); "
        f"crowd: {len(stats.keyword_runs)} keywords at {stats.rate:.1f}/s, median "
        f"{stats.median() * 1000:.0f} ms, {len(stats.errors)} errors; server CPU "
        f"{figures.loaded_cpu:.1f} s, {figures.cpu_ms_per_run():.0f} ms a run"
    )
    for error in stats.errors[:5]:
        log(f"load: {error}")
    return figures


def _probe(
    context: BrowserContext,
    app: Server,
    probe: Page,
    words: Sequence[str],
    before: str,
    opened: list[float],
    typed: list[float],
) -> None:
    """Time a page open and a keyword in the probe tab, `len(words)` times each, alternately
    (so both see the same stretch of load)."""
    for word in words:
        seconds, page = open_page(context, app.url, marker(KEYWORDS[0]))
        opened.append(seconds)
        page.close()
        typed.append(type_keyword(probe, word, marker(word), marker(before)).seconds)
        before = word


@contextmanager
def _peak_rss(app: Server, every: float = 0.5) -> Iterator[list[float]]:
    """The most memory the server held while the block ran, sampled every `every` s."""
    peak = [rss_mb(app)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            peak[0] = max(peak[0], rss_mb(app))

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak[0] = max(peak[0], rss_mb(app))
