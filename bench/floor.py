"""The floor under the browser figures: how much of the trivial app's time any page takes
that redraws the density chart and a 50-headline list, the two things the page's filters
must change (bench/floor_app.py draws them with the page's own code and nothing else).

The floor app and the trivial app run side by side in one chromium, measured alternately:
the rerun after new text in the box (the keyword row's interaction), and a warm page open
(the page-open row's). A browser row whose target is below its floor cannot be met by any
page that keeps the chart following the filters, however little else it draws.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.apps import TRIVIAL_APP
from bench.browser import BoxReruns, chromium, new_context, open_page, open_timed, trivial_output
from bench.units import ms, sec
from support.servers import ROOT, streamlit_server

if TYPE_CHECKING:
    from bench.report import Row

FLOOR_APP = Path(__file__).resolve().parent / "floor_app.py"
FLOOR_RERUN = "floor: chart and list alone, text typed → redrawn"
FLOOR_OPEN = "floor: chart and list alone, page opened"


@dataclass(frozen=True, slots=True)
class FloorSizes:
    """How big the floor figures are."""

    headlines: int
    repeats: int


@dataclass
class FloorFigures:
    """Seconds of every repetition, floor app and trivial app."""

    headlines: int
    typed: list[float] = field(default_factory=list)
    trivial_typed: list[float] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)
    trivial_opened: list[float] = field(default_factory=list)


def run_floor(sizes: FloorSizes, log: Callable[[str], None]) -> FloorFigures:
    """Start both apps and one chromium; time reruns and opens, alternately."""
    figures = FloorFigures(sizes.headlines)
    env = {"PYTHONPATH": str(ROOT), "FLOOR_HEADLINES": str(sizes.headlines)}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp, chromium() as browser:
        folder = Path(tmp)  # no project config: both run with Streamlit's defaults
        with (
            streamlit_server(TRIVIAL_APP, {}, folder / "trivial.log", cwd=folder) as trivial,
            streamlit_server(FLOOR_APP, env, folder / "floor.log", cwd=folder) as floor,
        ):
            apps = [(trivial.url, new_context(browser)), (floor.url, new_context(browser))]
            boxes = [BoxReruns(open_page(context, url, trivial_output(""))[1])
                     for url, context in apps]  # fmt: skip
            for box in boxes:  # warm-up: the box's first use, the chart's first data
                box.rerun()
                box.rerun()
            for _ in range(sizes.repeats):
                figures.trivial_typed.append(boxes[0].rerun())
                figures.typed.append(boxes[1].rerun())
            for _ in range(sizes.repeats):
                for (url, context), into in zip(
                    apps, (figures.trivial_opened, figures.opened), strict=True
                ):
                    opened = open_timed(context, url, trivial_output(""))
                    opened.page.close()
                    into.append(opened.done)
            for _, context in apps:
                context.close()
    log(f"floor: rerun {ms(figures.typed)} ms, trivial {ms(figures.trivial_typed)} ms")
    return figures


def floor_rows(f: FloorFigures) -> list[Row]:
    """Two rows, for information: their ratios are the least the keyword and page-open
    rows could be."""
    from bench.report import Row

    median = statistics.median
    rows = []
    for label, times, base, baseline in (
        (FLOOR_RERUN, f.typed, f.trivial_typed, "the trivial app's rerun, same browser"),
        (FLOOR_OPEN, f.opened, f.trivial_opened, "the trivial app's open, same browser"),
    ):
        rows.append(
            Row(label, f"{f.headlines:,} headlines, median of {len(times)}", baseline,
                sec(median(times)), sec(median(base)), f"{median(times) / median(base):.2f}×",
                "none: the least its row can be", True, informational=True)
        )  # fmt: skip
    return rows
