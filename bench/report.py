"""The benchmark's table: one row per figure, each a ratio to a baseline of the same run."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.browser import BrowserFigures
from bench.floor import FLOOR_OPEN, FLOOR_RERUN
from bench.fresh import FRESH_OPEN
from bench.index import PAGE_AFTER_REFRESH
from bench.load import LoadFigures
from bench.refresh import RefreshFigures
from bench.shared import PER_PERIOD, PG_KEYWORD, PG_OPEN, PG_ROUND, ROUND_TIME, SPLIT
from bench.stories import STORY_ASSIGNMENT
from bench.subscribe import FEED_304, FEED_REQUEST
from bench.units import sec

# Every row's label, in table order; `make test` checks the quick run printed each one.
COLD_VS_SLOWEST = "cold refresh vs slowest source"
COLD_VS_FEEDPARSER = "cold refresh vs feedparser loop"
ALL_304 = "refresh when every source answers 304"
KEYWORD = "keyword typed → list updated"
PUBLICATION_CHANGED = "publication filter changed → list updated"
PAGE_OPEN = "page opened, warm cache"
FIRST_HEADLINE = "navigation → first headline visible"
VIEW_MORE = '"view more headlines" → next 50 shown'
GROWTH = "growth of the keyword time"
MEMORY = "server memory"
LOAD_KEYWORD = "keyword typed under load"
LOAD_OPEN = "page opened under load"
LOAD_MEMORY = "server memory under load"
LABELS = (
    COLD_VS_SLOWEST, COLD_VS_FEEDPARSER, ALL_304, KEYWORD, PUBLICATION_CHANGED, PAGE_OPEN,
    FIRST_HEADLINE, VIEW_MORE, GROWTH, MEMORY, FLOOR_RERUN, FLOOR_OPEN, LOAD_KEYWORD, LOAD_OPEN,
    LOAD_MEMORY,
    STORY_ASSIGNMENT, PAGE_AFTER_REFRESH, FEED_REQUEST, FEED_304, FRESH_OPEN, PER_PERIOD,
    SPLIT, ROUND_TIME, PG_KEYWORD, PG_OPEN, PG_ROUND,
)  # fmt: skip
# Each session the crowd adds may cost the server this much memory (its session state, the
# messages of its last run, its script thread).
SESSION_MB = 2.0

START = "<!-- bench:start (written by `make bench`; edit outside these markers) -->"
END = "<!-- bench:end -->"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    label: str
    detail: str  # sizes, after the label
    baseline: str  # what the baseline is
    measured: str  # absolute figure
    base_value: str  # absolute baseline figure
    ratio: str
    target: str
    met: bool
    informational: bool = False  # no target: a figure to read the others by (a floor)


def _size(count: int) -> str:
    return f"{count // 1000}k" if count >= 1000 and count % 1000 == 0 else str(count)


def refresh_rows(f: RefreshFigures) -> list[Row]:
    """The three refresh rows."""
    cold_ratio = f.cold / f.slowest_alone
    faster = f.feedparser_loop / f.cold
    nm_ratio = f.not_modified / f.slowest_round_trip
    no_parsing = (
        f.parses_in_304_round == 0
        and f.feedparser_calls_in_304_round == 0
        and f.answered_304 == f.sources
    )
    sizes = f"{f.sources} sources, {f.items} items"
    return [
        Row(COLD_VS_SLOWEST, sizes, "slowest single source alone (fetch + parse)",
            sec(f.cold), sec(f.slowest_alone), f"{cold_ratio:.2f}×", "≤ 1.5×", cold_ratio <= 1.5),
        Row(COLD_VS_FEEDPARSER, sizes, "serial loop of `feedparser.parse(url)`",
            sec(f.cold), sec(f.feedparser_loop), f"{faster:.1f}× faster", "≥ 10× faster",
            faster >= 10),
        Row(ALL_304, f"{f.sources} sources", "slowest single round trip (304)",
            f"{sec(f.not_modified)}; {f.answered_304}/{f.sources} got 304; "
            f"{f.parses_in_304_round} parses, {f.feedparser_calls_in_304_round} feedparser calls",
            sec(f.slowest_round_trip), f"{nm_ratio:.2f}×", "≤ 1.3×, no parsing",
            nm_ratio <= 1.3 and no_parsing),
    ]  # fmt: skip


def browser_rows(f: BrowserFigures) -> list[Row]:
    """The browser rows: the four interactions and the first headline drawn at each full
    size, growth, memory."""
    median = BrowserFigures.median
    trivial = "the trivial Streamlit app, same browser"
    painted = "the trivial app's output first drawn, same browser"
    rerun = "the trivial app's rerun (its text box), same browser"
    rows = []
    for size in f.full:
        s = f.by_size[size]
        for label, times, base, baseline, target in (
            (KEYWORD, s.typed, s.trivial_typed, trivial, 1.5),
            (PUBLICATION_CHANGED, s.picked, s.trivial_picked, rerun, 1.5),
            (PAGE_OPEN, s.opened, s.trivial_opened, trivial, 1.3),
            (FIRST_HEADLINE, s.seen, s.trivial_seen, painted, 1.5),
            (VIEW_MORE, s.more, s.trivial_more, rerun, 1.5),
        ):
            ratio = median(times) / median(base)
            rows.append(
                Row(label, f"{size:,} headlines, median of {len(times)}", baseline,
                    sec(median(times)), sec(median(base)), f"{ratio:.2f}×", f"≤ {target:g}×",
                    ratio <= target)
            )  # fmt: skip
    sizes = sorted(f.by_size)
    growth = [median(f.by_size[size].typed) for size in sizes]
    growth_ratio = growth[-1] / growth[0]
    steps = " → ".join(_size(size) for size in sizes)
    largest = f.by_size[sizes[-1]]
    above = largest.rss_mb - largest.trivial_rss_mb
    return [
        *rows,
        Row(GROWTH, f"{steps} headlines", f"the {_size(sizes[0])} figure",
            " → ".join(sec(t) for t in growth), sec(growth[0]),
            " → ".join(f"{t / growth[0]:.2f}×" for t in growth), "≤ 2× at 100× the data",
            growth_ratio <= 2),
        Row(MEMORY, f"{largest.size:,} headlines", "the trivial app's",
            f"{largest.rss_mb:.0f} MB", f"{largest.trivial_rss_mb:.0f} MB",
            f"+{above:.0f} MB", "≤ 250 MB above", above <= 250),
    ]  # fmt: skip


def load_rows(f: LoadFigures) -> list[Row]:
    """The three rows of the load figures: the probe's times and the server's memory.

    The times count only if the crowd really loaded the server: every session connected and
    none failed (a crowd that failed leaves the server idle, and the ratio near 1).
    """
    median = LoadFigures.median
    sizes, crowd = f.sizes, f.crowd
    detail = (
        f"{sizes.headlines:,} headlines, {sizes.sessions} sessions each typing a keyword "
        f"every {sizes.interval:g} s, median of {sizes.repeats}"
    )
    loaded = not crowd.errors and bool(crowd.keyword_runs)
    answered = f"the crowd: {len(crowd.keyword_runs)} keywords, {len(crowd.errors)} errors"
    idle = "the same server idle, same probe"
    typed, idle_typed = median(f.loaded_typed), median(f.idle_typed)
    opened, idle_opened = median(f.loaded_opened), median(f.idle_opened)
    added = f.loaded_rss_mb - f.idle_rss_mb
    return [
        Row(LOAD_KEYWORD, detail, idle, f"{sec(typed)}; {answered}", sec(idle_typed),
            f"{typed / idle_typed:.2f}×", "≤ 3×", loaded and typed / idle_typed <= 3),
        Row(LOAD_OPEN, detail, idle, sec(opened), sec(idle_opened),
            f"{opened / idle_opened:.2f}×", "≤ 3×", loaded and opened / idle_opened <= 3),
        Row(LOAD_MEMORY, f"{sizes.headlines:,} headlines, {sizes.sessions} sessions, peak",
            "the same server idle", f"{f.loaded_rss_mb:.0f} MB", f"{f.idle_rss_mb:.0f} MB",
            f"+{added:.0f} MB ({added / sizes.sessions:.1f} MB a session)",
            f"≤ {SESSION_MB:g} MB a session", loaded and added <= SESSION_MB * sizes.sessions),
    ]  # fmt: skip


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| what | baseline (same run) | measured | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = "—" if row.informational else "yes" if row.met else "**no**"
        lines.append(
            f"| {row.label} ({row.detail}) | {row.baseline} | {row.measured} | {row.base_value} "
            f"| {row.ratio} | {row.target} | {met} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """What this machine is: cores, CPU model, memory, software versions."""
    cpu = "unknown"
    memory = "unknown"
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = found.group(1).strip() if found else platform.processor() or "unknown"
        kib = re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M)
        memory = f"{int(kib.group(1)) / 1024 / 1024:.1f} GiB" if kib else "unknown"
    except OSError:
        pass
    return {
        "cores (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU": cpu,
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "streamlit": version("streamlit"),
        "feedparser": version("feedparser"),
        "load average at the end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def markdown_block(rows: list[Row], details: list[str], started: datetime, seconds: float) -> str:
    """The generated part of BENCHMARKS.md: date, machine, table, the raw figures."""
    info = machine()
    lines = [
        START,
        f"Run of `make bench` on {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{seconds / 60:.1f} minutes.",
        "",
        "Machine: " + "; ".join(f"{key} {value}" for key, value in info.items()) + ".",
        "",
        table(rows),
        "",
        "Every figure of the run (seconds, milliseconds for the browser):",
        "",
        *[f"- {line}" for line in details],
        END,
    ]
    return "\n".join(lines)


def write_benchmarks(path: Path, block: str) -> None:
    """Put `block` between the markers of `path`, keeping what is outside them."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        path.write_text(head + block + tail)
    else:
        path.write_text(
            "# Benchmarks\n\nRun them with `make bench` (about two minutes; "
            "`python -m bench --quick` is the smoke run that `make test` does).\n\n"
            f"{block}\n"
        )
