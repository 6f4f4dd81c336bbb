"""Headline Density: how many headlines fall in each time slot of the window.

The window is the one the headline list shows: a headline is in it when it is less than
`span` old (`now - span < published`, as `lib.buckets.bucketer` counts the last 7 days); a
time ahead of `now` (clock skew) counts in the newest slot, as the list shows it as the
newest. So the counts over all slots add up to the headlines the list shows.

Spike rule (`spike_threshold`): over the counts of the slots from the first that holds a
headline to the newest (the part of the window the store covers: a store started two days
ago has nothing earlier, and its empty days must not make every later slot look busy),
empty ones included, take the median `m` and the median absolute deviation `MAD`. The spread is
`s = max(1.4826 * MAD, sqrt(m), 1)`: the MAD scaled to a standard deviation, but never below
the Poisson noise of a slot that usually holds `m` headlines, nor below one headline. A slot
is a spike when its count is at least `max(3, m + 3 * s)`. Medians are not pulled up by the
burst itself; with flat data every slot sits at `m` and none is a spike; fewer than 3
headlines in one slot are never a spike, so an empty or one-headline window has none.
"""

from __future__ import annotations

import itertools
import math
import operator
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from operator import attrgetter
from statistics import median
from typing import TypedDict

from lib.model import Headline
from lib.times import MONTH_ABBREVIATIONS

_HOUR = timedelta(hours=1)

TOP_PUBLICATIONS = 5  # publications with their own colour; the rest are stacked as OTHER
OTHER = "Other"
SPIKE_MIN = 3  # a slot with fewer headlines is never a spike
SPIKE_K = 3.0  # how many spreads above the median a spike must be
_MAD_TO_SD = 1.4826  # MAD of a normal distribution times this is its standard deviation
_TOOLTIP_NAMES = 3  # publications named in a slot's tooltip


@dataclass(frozen=True, slots=True)
class Slot:
    """One time slot of the chart: [start, end) in UTC, and its headline count.

    `publications` holds each publication's count in the slot, most first (then by name);
    `is_spike` follows the module's spike rule.
    """

    start: datetime
    end: datetime
    count: int
    publications: tuple[tuple[str, int], ...] = ()
    is_spike: bool = False


class DensityRow(TypedDict):
    """One bar segment of the chart: a publication (or OTHER) in a slot.

    An empty slot has one row with `publication` None and `count` 0, so every slot of the
    window is there. `rank` is the stack and colour order: 0 for the biggest publication of
    the window, OTHER last; `is_other` marks the OTHER row.
    """

    start: datetime
    end: datetime
    label: str
    publication: str | None
    rank: int
    is_other: bool
    count: int
    slot_total: int
    is_spike: bool
    top_publications: str


def slot_size(span: timedelta) -> timedelta:
    """The slot size for a window of `span`: hourly up to two days, coarser beyond."""
    if span <= timedelta(days=2):
        return timedelta(hours=1)
    if span <= timedelta(days=4):
        return timedelta(hours=3)
    return timedelta(hours=6)


def _floor(moment: datetime, size: timedelta, zone: tzinfo) -> datetime:
    """The start of the slot holding `moment`, aligned to local hours in `zone`."""
    local = moment.astimezone(zone)
    if size <= _HOUR:
        # Keeps `fold`, so the repeated hour of a DST change is its own slot.
        return local.replace(minute=0, second=0, microsecond=0).astimezone(moment.tzinfo)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    steps = (local.replace(tzinfo=None) - midnight.replace(tzinfo=None)) // size
    # Wall-clock arithmetic, so slots line up with local hours on DST change days too.
    wall = midnight.replace(tzinfo=None) + steps * size
    return wall.replace(tzinfo=zone).astimezone(moment.tzinfo)


def _next(start: datetime, size: timedelta, zone: tzinfo) -> datetime:
    """The start of the slot after the one starting at `start`."""
    if size <= _HOUR:
        return start + size  # aware UTC arithmetic: every hourly slot is one real hour
    # Coarser slots step in wall-clock time, so they stay on local 00/06/12/18 across a DST
    # change (the slot holding the change is an hour longer or shorter).
    local = start.astimezone(zone).replace(tzinfo=None)
    return (local + size).replace(tzinfo=zone).astimezone(start.tzinfo)


def _bounds(now: datetime, zone: tzinfo, span: timedelta) -> list[datetime]:
    """The slot starts of the window, oldest first, and the end of the newest slot."""
    size = slot_size(span)
    cursor = _floor(now - span, size, zone)
    bounds = [cursor]
    while cursor <= now:
        cursor = _next(cursor, size, zone)
        bounds.append(cursor)
    return bounds


def spike_threshold(counts: Sequence[int]) -> float:
    """The count at or above which a slot is a spike, per the module's rule."""
    if not counts:
        return math.inf
    middle = median(counts)
    mad = median(abs(c - middle) for c in counts)
    spread = max(_MAD_TO_SD * mad, math.sqrt(middle), 1.0)
    return max(SPIKE_MIN, middle + SPIKE_K * spread)


def _counted_newest_first(
    items: Sequence[Headline], starts: Sequence[datetime], oldest: datetime
) -> list[Counter[str]] | None:
    """Each slot's count per publication when `items` go newest first (as the page lists
    them): every slot is then one slice, found by bisection and counted in C, instead of a
    bisection and a count per item (100,000 headlines: a few ms instead of ≈ 60). None when
    they do not."""
    times = list(map(attrgetter("published"), reversed(items)))  # oldest first
    if not all(map(operator.le, times, itertools.islice(times, 1, None))):
        return None
    names = list(map(attrgetter("publication"), reversed(items)))
    # Slot i holds the times t with starts[i] <= t < starts[i + 1], the newest slot all
    # later ones; none at or before `oldest`.
    edges = [bisect_right(times, oldest)]
    edges += [max(edges[0], bisect_left(times, start)) for start in starts[1:]]
    edges.append(len(times))
    return [Counter(names[lo:hi]) for lo, hi in itertools.pairwise(edges)]


def density(
    headlines: Iterable[Headline], now: datetime, zone: tzinfo, span: timedelta
) -> list[Slot]:
    """Counts per slot from `now - span` to `now`, oldest first, empty slots included.

    Each slot also carries its counts per publication and whether it is a spike.
    """
    bounds = _bounds(now, zone, span)
    starts = bounds[:-1]
    oldest = now - span
    items = list(headlines)
    per_slot = _counted_newest_first(items, starts, oldest)
    if per_slot is None:  # not newest first: each item placed alone
        newest = len(starts) - 1
        per_slot = [Counter() for _ in starts]
        for item in items:
            published = item.published
            if published <= oldest:
                continue
            # bisect on aware datetimes: a few comparisons per item, no zone conversion.
            index = min(bisect_right(starts, published) - 1, newest)
            per_slot[index][item.publication] += 1
    counts = [sum(c.values()) for c in per_slot]
    first = next((i for i, count in enumerate(counts) if count), len(counts))
    threshold = spike_threshold(counts[first:])
    return [
        Slot(
            start,
            end,
            count,
            tuple(sorted(pubs.items(), key=lambda pair: (-pair[1], pair[0].casefold(), pair[0]))),
            count >= threshold,
        )
        for start, end, count, pubs in zip(starts, bounds[1:], counts, per_slot, strict=True)
    ]


def top_publications(slots: Iterable[Slot], top: int = TOP_PUBLICATIONS) -> list[str]:
    """At most `top` publications with most headlines over the slots, most first, then by
    name: those that stand out, so no colour goes to a pick among equals. A publication is
    left out (to OTHER) when it has a single headline, or when one left out has as many
    (a tie at the cut: all of the tied go)."""
    totals: Counter[str] = Counter()
    for slot in slots:
        for name, count in slot.publications:
            totals[name] += count
    ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0].casefold(), pair[0]))
    cut = max(top, 0)
    if cut < len(ranked):
        tied = ranked[cut][1]
        while cut and ranked[cut - 1][1] == tied:
            cut -= 1
    return [name for name, count in ranked[:cut] if count > 1]


def other_label(top: Sequence[str]) -> str:
    """The name of the stack that holds every publication outside `top`."""
    # A publication really called "Other" must not merge with the rest.
    label = OTHER
    while label in top:
        label += "*"
    return label


def slot_label(start: datetime, end: datetime, zone: tzinfo) -> str:
    """A slot as the tooltip shows it, in `zone`: `03:00–04:00, 18 Sep`."""
    first = start.astimezone(zone)
    last = end.astimezone(zone)
    return f"{first:%H:%M}–{last:%H:%M}, {first.day} {MONTH_ABBREVIATIONS[first.month - 1]}"


def _top_text(publications: Sequence[tuple[str, int]]) -> str:
    """The tooltip's list of a slot's publications: `Reuters 4, AP 2, BBC 1 and 3 more`."""
    named = ", ".join(f"{name} {count}" for name, count in publications[:_TOOLTIP_NAMES])
    rest = len(publications) - _TOOLTIP_NAMES
    return f"{named} and {rest} more" if rest > 0 else named


def slot_rows(slots: Sequence[Slot], zone: tzinfo, top: int = TOP_PUBLICATIONS) -> list[DensityRow]:
    """The slots as chart rows: per slot, one row per top publication in it, then OTHER.

    Top publications are ranked over the whole window (`top_publications`); an empty slot
    gives one row with publication None and count 0.
    """
    leaders = top_publications(slots, top)
    rank = {name: i for i, name in enumerate(leaders)}
    other = other_label(leaders)
    rows: list[DensityRow] = []
    for slot in slots:
        parts = sorted((rank[n], n, c) for n, c in slot.publications if n in rank)
        rest = sum(c for n, c in slot.publications if n not in rank)
        if rest:
            parts.append((len(leaders), other, rest))
        if not slot.count:
            parts = [(len(leaders), None, 0)]
        label = slot_label(slot.start, slot.end, zone)
        tooltip = _top_text(slot.publications)
        rows.extend(
            DensityRow(
                start=slot.start,
                end=slot.end,
                label=label,
                publication=name,
                rank=position,
                is_other=name is not None and position == len(leaders),
                count=count,
                slot_total=slot.count,
                is_spike=slot.is_spike,
                top_publications=tooltip,
            )
            for position, name, count in parts
        )
    return rows


def density_rows(
    headlines: Iterable[Headline],
    now: datetime,
    zone: tzinfo,
    span: timedelta,
    top: int = TOP_PUBLICATIONS,
) -> list[DensityRow]:
    """Chart rows for the window: `slot_rows(density(...))`; see `DensityRow`.

    The counts of all rows add up to the number of `headlines` in the window.
    """
    return slot_rows(density(headlines, now, zone, span), zone, top)


def range_in_window(
    start: datetime, end: datetime, now: datetime, zone: tzinfo, span: timedelta
) -> tuple[datetime, datetime] | None:
    """The part of [start, end) inside the chart's window, or None when nothing is.

    The window runs from the start of the chart's first slot to the end of its newest one
    (`density`'s slots for `now`, `zone` and `span`), so any range picked on the chart is
    kept as it is. `start` and `end` are aware; any years work, however far off.
    """
    bounds = _bounds(now, zone, span)
    low, high = max(start, bounds[0]), min(end, bounds[-1])
    return (low, high) if low < high else None


def headlines_in(
    headlines: Iterable[Headline], start: datetime, end: datetime, now: datetime
) -> list[Headline]:
    """The headlines published in [start, end): what a slot or range of the chart holds.

    A range that reaches past `now` also keeps the headlines dated ahead of it, as the
    newest slot counts them.
    """
    if end > now:
        return [item for item in headlines if start <= item.published]
    return [item for item in headlines if start <= item.published < end]
