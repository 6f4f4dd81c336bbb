"""Fresh-server figures: a new `streamlit run` process, and the first viewer's page.

For each store size the real app's server is started anew (a new process: nothing cached,
nothing imported by a script run yet) on a store of that many headlines of one topical
source, as in the browser figures, and a new chromium tab navigates to it as soon as the
server answers its health check. Two times are taken from navigation: until the newest
headline is visible (the first headline, issue 9's "≤ 3 s"), and until the page is done
(script idle, chart drawn). The baseline is the trivial app's fresh server in the same run,
until its line of output is visible; app and trivial app are started alternately.

The app's server warms the topic's index at server start (ui/server.py's lifespan, on a
thread: the server answers meanwhile), so a viewer arriving at once may wait for that
warm-up; what it does not wait for is counted as soon as the server answers.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, Page

from bench.apps import APP, TRIVIAL_APP
from bench.browser import (
    KEYWORDS,
    TIMEOUT_MS,
    chromium,
    marker,
    new_context,
    serve_wire,
    store_env,
    trivial_output,
)
from support.feedserver import FeedServer
from support.servers import Server, streamlit_server

if TYPE_CHECKING:
    from bench.report import Row

FRESH_OPEN = "fresh server, first headline"

# True once `want` is on the page in an element that is drawn (not hidden, has a box).
_SHOWN = """(want) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.includes(want)) continue;
    const box = node.parentElement && node.parentElement.getBoundingClientRect();
    if (box && box.width > 0 && box.height > 0) return true;
  }
  return false;
}"""
# True once the app is idle and every chart has drawn itself (bench/browser.py's "done").
_DONE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  return charts.every((chart) => chart.querySelector('canvas, svg'));
}"""


@dataclass(frozen=True, slots=True)
class FreshSizes:
    """How big the fresh-server benchmark is."""

    stored: tuple[int, ...]  # headlines stored, one figure each (the last is the row's)
    repeats: int  # fresh servers started per size (the median is kept)


@dataclass
class FreshFigures:
    """Seconds from navigation, every repetition, at one stored size."""

    size: int
    first_headline: list[float] = field(default_factory=list)
    done: list[float] = field(default_factory=list)
    trivial: list[float] = field(default_factory=list)  # the trivial app's output shown
    started: list[float] = field(default_factory=list)  # the app's server: start to health


def _first_view(browser: Browser, server: Server, want: str, app: bool) -> tuple[float, float]:
    """Seconds from navigation until `want` is visible and until the page is done."""
    context = new_context(browser, server if app else None)
    try:
        page: Page = context.new_page()
        started = time.perf_counter()
        page.goto(server.url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_function(_SHOWN, arg=want, polling="raf", timeout=TIMEOUT_MS)
        shown = time.perf_counter() - started
        page.wait_for_function(_DONE, polling="raf", timeout=TIMEOUT_MS)
        return shown, time.perf_counter() - started
    finally:
        context.close()


def run_fresh(sizes: FreshSizes, now: datetime, log: Callable[[str], None]) -> list[FreshFigures]:
    """Fill a store per size; start fresh servers (app and trivial app, alternately) and
    time the first viewer's page on each."""
    results = []
    with (
        FeedServer() as feeds,
        tempfile.TemporaryDirectory(prefix="bench-fresh-") as tmp,
        chromium() as browser,
    ):
        folder = Path(tmp)
        wire = serve_wire(feeds, now, folder)
        floor = folder / "trivial"
        floor.mkdir()
        for size in sizes.stored:
            figures = FreshFigures(size)
            env = store_env(wire, folder, size, now, lambda said: log(f"fresh: {said}"))
            for repeat in range(sizes.repeats):
                started = time.perf_counter()
                with streamlit_server(APP, env, folder / f"app-{size}-{repeat}.log") as app:
                    figures.started.append(time.perf_counter() - started)
                    shown, done = _first_view(browser, app, marker(KEYWORDS[0]), app=True)
                figures.first_headline.append(shown)
                figures.done.append(done)
                log_path = folder / f"trivial-{size}-{repeat}.log"
                with streamlit_server(TRIVIAL_APP, {}, log_path, cwd=floor) as trivial:
                    shown, _ = _first_view(browser, trivial, trivial_output(""), app=False)
                figures.trivial.append(shown)
                log(
                    f"fresh: {size}: first headline {figures.first_headline[-1]:.2f} s, "
                    f"done {figures.done[-1]:.2f} s; trivial {figures.trivial[-1]:.2f} s"
                )
            results.append(figures)
    return results


def describe(f: FreshFigures) -> str:
    """Every repetition of one size, in milliseconds, for the details list."""

    def ms(values: list[float]) -> str:
        return ", ".join(f"{v * 1000:.0f}" for v in values)

    return (
        f"fresh server, {f.size:,} headlines: first headline {ms(f.first_headline)}; "
        f"done {ms(f.done)}; trivial app's first output {ms(f.trivial)}; "
        f"server start to health {ms(f.started)}"
    )


TARGET = 3.0  # seconds to the first headline (issue 9)


def fresh_rows(figures: list[FreshFigures]) -> list[Row]:
    """One row per stored size: first headline against the trivial app's first output,
    the absolute figure against issue 9's 3 s (the ratio is information)."""
    from bench.report import Row  # here, so that bench.report may import this module

    rows = []
    for f in figures:
        shown, done = statistics.median(f.first_headline), statistics.median(f.done)
        trivial = statistics.median(f.trivial)
        rows.append(
            Row(
                label=FRESH_OPEN,
                detail=(
                    f"{f.size:,} stored, new `streamlit run` process, navigation → newest "
                    f"headline visible in chromium, index warmed at server start, "
                    f"median of {len(f.first_headline)}"
                ),
                baseline="the trivial app's fresh server, first output visible",
                measured=f"{shown:.2f} s (page done: {done:.2f} s)",
                base_value=f"{trivial:.2f} s",
                ratio=f"{shown / trivial:.2f}×",
                target=f"≤ {TARGET:g} s",
                met=shown <= TARGET,
            )
        )
    return rows


def main() -> None:
    """`python -m bench.fresh [stored ...]`: print every repetition (3 each)."""
    import sys
    from datetime import UTC

    stored = tuple(int(arg) for arg in sys.argv[1:]) or (100_000,)
    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)  # the benchmark's fixed clock

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    for figures in run_fresh(FreshSizes(stored, 3), now, log):
        print(describe(figures))


if __name__ == "__main__":
    main()
