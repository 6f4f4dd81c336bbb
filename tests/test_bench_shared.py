"""The shared-store rows of `make bench` judge their figures as their targets say: a
duplicate fetch, an uneven split, a slower round, a slower page or a store that cannot keep
up is "not met" (the figures here are made up; `tests/test_bench.py` runs the real ones)."""

from __future__ import annotations

from dataclasses import replace

from bench.backends import BackendSizes
from bench.shared import (
    PER_PERIOD,
    PG_KEYWORD,
    PG_OPEN,
    PG_ROUND,
    ROUND_TIME,
    SPLIT,
    PageFigures,
    PeriodFigures,
    RoundFigures,
    SharedFigures,
    SharedSizes,
    shared_rows,
)

SIZES = SharedSizes(
    feeds=20, period=10.0, periods=1, round_feeds=200, round_items=(20, 40),
    round_delays=(0.1, 2.0), rounds=2, headlines=10_000, repeats=3,
    backends=BackendSizes(stored=10_000, feeds=200, new=1_000, repeats=5),
)  # fmt: skip


def figures(**changes: object) -> SharedFigures:
    """Figures that meet every target, with `changes`."""
    good = SharedFigures(
        fleets={1: PeriodFigures(1, 20, 1, 40, 10.1), 3: PeriodFigures(3, 20, 1, 40, 10.0)},
        rounds=[
            RoundFigures(1, 8.0, [200]),
            RoundFigures(2, 4.0, [100, 100]),
            RoundFigures(1, 8.2, [200]),
            RoundFigures(2, 4.4, [110, 90]),
        ],
        pages={
            "sqlite": PageFigures(typed=[0.20, 0.22, 0.24], opened=[1.0, 1.1, 1.2]),
            "postgresql": PageFigures(typed=[0.21, 0.23, 0.25], opened=[1.0, 1.2, 1.3]),
        },
        stored={"a round stored": (0.25, 0.5)},
        sizes=SIZES,
    )
    return replace(good, **changes)  # type: ignore[arg-type]


def met(f: SharedFigures) -> dict[str, bool]:
    return {row.label: row.met for row in shared_rows(f)}


def test_figures_that_meet_every_target() -> None:
    rows = shared_rows(figures())
    assert [row.label for row in rows] == [PER_PERIOD, SPLIT, ROUND_TIME, PG_KEYWORD, PG_OPEN,
                                           PG_ROUND]  # fmt: skip
    assert all(row.met for row in rows), rows
    split = rows[1]
    assert split.measured == "110/90 feeds" and split.ratio == "55/45"  # the most uneven


def test_a_duplicate_fetch_or_a_skipped_period_is_not_equal() -> None:
    twice = {1: PeriodFigures(1, 20, 1, 40, 10.1), 3: PeriodFigures(3, 20, 1, 41, 0.3)}
    assert not met(figures(fleets=twice))[PER_PERIOD]
    skipped = {1: PeriodFigures(1, 20, 1, 39, 10.1), 3: PeriodFigures(3, 20, 1, 39, 10.0)}
    assert not met(figures(fleets=skipped))[PER_PERIOD]  # equal, but not once a period


def test_an_uneven_split_or_a_slower_round_is_not_met() -> None:
    rounds = [RoundFigures(1, 8.0, [200]), RoundFigures(2, 8.5, [150, 50])]
    judged = met(figures(rounds=rounds))
    assert not judged[SPLIT] and not judged[ROUND_TIME]


def test_a_slower_page_or_store_is_not_met() -> None:
    pages = {
        "sqlite": PageFigures(typed=[0.20], opened=[1.0]),
        "postgresql": PageFigures(typed=[0.25], opened=[1.3]),
    }
    judged = met(figures(pages=pages, stored={"a round stored": (0.25, 4.5)}))
    assert not judged[PG_KEYWORD] and not judged[PG_OPEN] and not judged[PG_ROUND]
