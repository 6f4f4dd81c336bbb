"""Story figures: assigning stories as headlines are stored, against grouping the window.

For each size N (headlines stored over 7 days, `support/corpus.py`):
- *per headline*: a `StoryAssigner` rebuilt from the N stored headlines and their story ids
  (`StoryAssigner.from_stored`, timed too) assigns batches of 200 new headlines published in
  the last hour; the figure is seconds per new headline (median over the batches). Baseline:
  `Grouping.of` over the same N + 200 headlines (what each app process did per store
  version), per headline and whole.
- *page grouping*: `Grouping.from_assigned` over the N headlines (what the page does instead).
- *differences*: stories and headlines whose story is not the whole-window rule's, for the
  headlines fed in publication order and in simulated refresh batches (`arrival_batches`,
  `first_fill_batches`).

Every figure is CPU time of this process (`time.process_time`). `python -m bench.stories
[N …]` prints the figures; `run_stories` is what a bench table calls.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from lib.model import Headline
from lib.stories import Grouping, StoryAssigner
from support.corpus import PUBLICATIONS, as_headlines, headlines, stories

if TYPE_CHECKING:
    from bench.report import Row

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
SOURCE = "https://bench.example/stored.xml"
BATCH = 200  # new headlines per refresh, as in issue 9's page row
REFRESH_EVERY = timedelta(seconds=300)  # NEWS_REFRESH_EVERY's default


@dataclass(frozen=True, slots=True)
class Differences:
    """How far one grouping is from another over the same headlines."""

    stories: int  # stories of the reference not found, with exactly their headlines, in it
    headlines: int  # headlines in those stories
    reference_stories: int
    found_stories: int


@dataclass(frozen=True, slots=True)
class StoryFigures:
    """Seconds measured at one size, and the differences from the whole-window rule."""

    stored: int
    per_headline: float  # median over batches of one batch's time / BATCH
    per_headline_all: tuple[float, ...]
    rebuild: float  # StoryAssigner.from_stored over the N stored headlines
    whole_window: float  # Grouping.of over the N + BATCH headlines
    from_assigned: float  # Grouping.from_assigned over the N headlines
    # None when not compared (`run_size(compare=False)`).
    publication_order: Differences | None
    arrival: Differences | None  # a week of refresh rounds, a batch per feed and round
    arrival_per_round: Differences | None  # the same, a batch per round
    first_fill: Differences | None  # one round bringing the whole week, a batch per feed
    first_fill_per_round: Differences | None  # the same in one batch


def arrival_batches(
    items: Sequence[Headline], rng: random.Random, per_round: bool
) -> list[list[int]]:
    """Positions of `items` in the batches a refresher would store them in, had it run all
    week: one batch per feed and round, or (`per_round`) one per round.

    Each publication is one feed, polled every `REFRESH_EVERY`; an item shows in its feed
    after a delay (the feed's own, up to 20 min, plus up to 10 min); each round stores the
    feeds that have something new in a random order, each feed's items newest first (the
    order RSS lists them).
    """
    base = {name: rng.uniform(0, 1200) for name in PUBLICATIONS}
    step = REFRESH_EVERY.total_seconds()
    batches: dict[tuple[int, str], list[int]] = {}
    for position, item in enumerate(items):
        shows = item.published.timestamp() + base.get(item.publication, 0) + rng.uniform(0, 600)
        batches.setdefault((int(shows // step), item.publication), []).append(position)
    rank = {key: rng.random() for key in batches}
    out: dict[int, list[int]] = {}
    for key in sorted(batches, key=lambda key: (key[0], rank[key])):
        batch = sorted(batches[key], key=lambda i: items[i].published, reverse=True)
        if per_round:
            out.setdefault(key[0], []).extend(batch)
        else:
            out[len(out)] = batch
    return list(out.values())


def first_fill_batches(
    items: Sequence[Headline], rng: random.Random, per_round: bool
) -> list[list[int]]:
    """Positions in the batches of one round that brings a whole week: one batch per feed
    (feeds in a random order, each newest first), or (`per_round`) one batch."""
    feeds: dict[str, list[int]] = {}
    for position, item in enumerate(items):
        feeds.setdefault(item.publication, []).append(position)
    rank = {name: rng.random() for name in feeds}
    batches = [
        sorted(feeds[name], key=lambda i: items[i].published, reverse=True)
        for name in sorted(feeds, key=rank.__getitem__)
    ]
    return [[i for batch in batches for i in batch]] if per_round else batches


def assigned_ids(items: Sequence[Headline], batches: Sequence[Sequence[int]]) -> list[int]:
    """The story id of each item (in `items` order) when an assigner gets `batches` of them
    (positions), one `assign` call each."""
    assigner = StoryAssigner()
    out = [0] * len(items)
    for batch in batches:
        ids = assigner.assign([items[i] for i in batch])
        for position, story in zip(batch, ids, strict=True):
            out[position] = story
    return out


def differences(reference: Grouping, found: Grouping) -> Differences:
    """How many of `reference`'s stories `found` does not have exactly, and their headlines."""

    def parts(grouping: Grouping) -> set[frozenset[int]]:
        return {frozenset(map(id, story.headlines)) for story in grouping.stories}

    ours, theirs = parts(reference), parts(found)
    missing = ours - theirs
    return Differences(
        stories=len(missing),
        headlines=sum(map(len, missing)),
        reference_stories=len(ours),
        found_stories=len(theirs),
    )


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    # CPU time of this process: the work is single-threaded, and on a machine shared with
    # other jobs the wall clock mostly measures waiting for a core.
    started = time.process_time()
    result = work()
    return time.process_time() - started, result


def run_size(
    stored: int, now: datetime = NOW, batches: int = 9, compare: bool = True
) -> StoryFigures:
    """The figures at one size; without `compare`, no differences are counted (they take
    five more assigning passes and a grouping: minutes at 100,000), and are None."""
    items = headlines(stored, now, SOURCE)
    rng = random.Random(9)
    new = as_headlines(stories(BATCH * batches, now, rng, "new", timedelta(hours=1)), SOURCE)
    whole_window, _ = _timed(lambda: Grouping.of([*new[:BATCH], *items]))

    whole = Grouping.of(items) if compare else None
    by_publication = sorted(range(len(items)), key=lambda i: (items[i].published, i))
    ids = assigned_ids(items, [[i] for i in by_publication])
    from_assigned, grouping = _timed(lambda: Grouping.from_assigned(items, ids))
    assert isinstance(grouping, Grouping)

    def fed(batches: list[list[int]]) -> Differences | None:
        if whole is None:
            return None
        return differences(whole, Grouping.from_assigned(items, assigned_ids(items, batches)))

    # The refresher's assigner, rebuilt from what the store keeps, in the order stored.
    stored_pairs = [(items[i], ids[i]) for i in by_publication]
    rebuild, assigner = _timed(lambda: StoryAssigner.from_stored(stored_pairs))
    assert isinstance(assigner, StoryAssigner)
    per_batch = []
    for number in range(batches):
        batch = sorted(new[number * BATCH : (number + 1) * BATCH], key=lambda h: h.published)
        seconds, _ = _timed(lambda batch=batch: assigner.assign(batch))
        per_batch.append(seconds / BATCH)
    return StoryFigures(
        stored=stored,
        per_headline=statistics.median(per_batch),
        per_headline_all=tuple(per_batch),
        rebuild=rebuild,
        whole_window=whole_window,
        from_assigned=from_assigned,
        publication_order=None if whole is None else differences(whole, grouping),
        arrival=fed(arrival_batches(items, random.Random(1), per_round=False)),
        arrival_per_round=fed(arrival_batches(items, random.Random(1), per_round=True)),
        first_fill=fed(first_fill_batches(items, random.Random(2), per_round=False)),
        first_fill_per_round=fed(first_fill_batches(items, random.Random(2), per_round=True)),
    )


def run_stories(
    sizes: Sequence[int] = (10_000, 100_000),
    now: datetime = NOW,
    log: Callable[[str], None] = print,
    compare: bool = True,
) -> list[StoryFigures]:
    """The figures at each size (10k and 100k for `make bench`; `--quick` might use 300
    and 1,000); `compare=False` skips counting differences (see `run_size`)."""
    out = []
    for size in sizes:
        log(f"stories: {size:,} stored headlines")
        out.append(run_size(size, now, compare=compare))
    return out


STORY_ASSIGNMENT = "story assignment per stored headline"


def story_rows(figures: Sequence[StoryFigures]) -> list[Row]:
    """The bench table's row for these figures (smallest and largest size): the cost per
    new headline must not grow with the store, and beats regrouping the window."""
    from bench.report import Row  # here, so that bench.report may import this module

    small, large = figures[0], figures[-1]
    growth = large.per_headline / small.per_headline
    return [
        Row(
            label=STORY_ASSIGNMENT,
            detail=f"{small.stored:,} → {large.stored:,} stored, batches of {BATCH}",
            baseline=f"the {small.stored:,} figure; Grouping.of over the window",
            measured=f"{small.per_headline * 1e6:.0f} µs → {large.per_headline * 1e6:.0f} µs",
            base_value=f"{small.per_headline * 1e6:.0f} µs; {large.whole_window:.2f} s",
            ratio=f"{growth:.2f}× growth; a batch is "
            f"{large.whole_window / (large.per_headline * BATCH):.0f}× faster than regrouping",
            target="≤ 1.5× growth at 10× the store",
            met=growth <= 1.5 and large.per_headline * BATCH < large.whole_window,
        )
    ]


def describe(f: StoryFigures) -> str:
    """One paragraph of figures at one size."""

    def diff(d: Differences | None) -> str:
        if d is None:
            return "not compared"
        return (
            f"{d.stories} of {d.reference_stories} stories ({d.headlines} headlines) differ, "
            f"{d.found_stories} stories found"
        )

    whole_per = f.whole_window / (f.stored + BATCH)
    return (
        f"{f.stored:,} stored: assign {f.per_headline * 1e6:.0f} µs per new headline "
        f"(batches {', '.join(f'{s * 1e6:.0f}' for s in f.per_headline_all)}); "
        f"Grouping.of over {f.stored + BATCH:,}: {f.whole_window:.2f} s "
        f"({whole_per * 1e6:.0f} µs per headline, {f.whole_window / f.per_headline / BATCH:.0f}× "
        f"a batch of {BATCH}); rebuild from store {f.rebuild:.2f} s; "
        f"Grouping.from_assigned {f.from_assigned * 1000:.0f} ms; "
        f"vs whole-window: publication order {diff(f.publication_order)}; "
        f"a week of rounds, a batch per feed {diff(f.arrival)}; a batch per round "
        f"{diff(f.arrival_per_round)}; first fill, a batch per feed {diff(f.first_fill)}; "
        f"in one batch {diff(f.first_fill_per_round)}"
    )


if __name__ == "__main__":
    chosen = [int(arg) for arg in sys.argv[1:]] or [10_000, 100_000]
    for figures in run_stories(chosen, NOW, lambda line: print(line, file=sys.stderr)):
        print(describe(figures))
