"""Headline Density: slots, zones, DST days, publications, spikes, agreement with the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from lib.density import (
    density,
    density_rows,
    headlines_in,
    range_in_window,
    slot_size,
    spike_threshold,
)
from lib.model import Headline

LONDON = ZoneInfo("Europe/London")


def at(moment: datetime) -> Headline:
    return Headline("t", None, "p", None, moment, "s", moment.isoformat())


def test_slot_size_follows_the_window() -> None:
    assert slot_size(timedelta(days=1)) == timedelta(hours=1)
    assert slot_size(timedelta(days=3)) == timedelta(hours=3)
    assert slot_size(timedelta(days=7)) == timedelta(hours=6)


def test_counts_land_in_their_slots_and_add_up() -> None:
    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    items = [at(now - timedelta(hours=h)) for h in (0.1, 0.2, 5, 30, 100, 24 * 8)]
    slots = density(items, now, LONDON, timedelta(days=7))
    assert sum(s.count for s in slots) == 5  # the 8-day-old one is outside the window
    assert all(s.end - s.start == timedelta(hours=6) for s in slots)
    # Slots start at local 00/06/12/18 in London.
    assert {s.start.astimezone(LONDON).hour for s in slots} == {0, 6, 12, 18}
    newest = slots[-1]
    assert newest.start <= now < newest.end and newest.count == 2


def test_an_empty_window_has_only_empty_slots() -> None:
    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    slots = density([], now, UTC, timedelta(days=1))
    assert len(slots) in (24, 25) and all(s.count == 0 for s in slots)


def test_dst_change_day_keeps_local_hours() -> None:
    # Clocks went back in London at 02:00 BST on 27 Oct 2024: that day has 25 hours.
    now = datetime(2024, 10, 28, 0, 0, tzinfo=UTC)
    slots = density([], now, LONDON, timedelta(days=2))
    starts = [s.start.astimezone(LONDON) for s in slots]
    day = [s for s in starts if s.date() == datetime(2024, 10, 27).date()]
    assert len(day) == 25  # 01:00 happens twice
    assert all((b.start - a.start) == timedelta(hours=1) for a, b in pairwise(slots))


# --- publications, rows and the window -----------------------------------------------------

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)


def by(publication: str, moment: datetime, n: int = 1) -> list[Headline]:
    return [
        Headline("t", None, publication, None, moment, "s", f"{publication}{moment}{i}")
        for i in range(n)
    ]


def test_the_window_is_the_lists_window() -> None:
    span = timedelta(days=7)
    items = [
        at(NOW - span),  # exactly 7 days old: the list leaves it out, so does the chart
        at(NOW - span + timedelta(seconds=1)),
        at(NOW + timedelta(minutes=5)),  # clock skew: the list shows it as the newest
        at(NOW + timedelta(hours=3)),  # beyond the newest slot: still counted, in it
    ]
    slots = density(items, NOW, LONDON, span)
    assert sum(s.count for s in slots) == 3
    assert slots[-1].count == 2 and slots[0].count == 1


def test_slots_count_per_publication() -> None:
    items = by("Reuters", NOW - timedelta(minutes=10), 3) + by("AP", NOW - timedelta(minutes=5))
    newest = density(items, NOW, LONDON, timedelta(days=1))[-1]
    assert newest.count == 4
    assert newest.publications == (("Reuters", 3), ("AP", 1))


def test_no_colour_goes_to_a_pick_among_equals() -> None:
    from lib.density import top_publications

    hour = NOW - timedelta(hours=2)
    # Every publication once: none stands out, none gets a colour.
    singles = [item for n in range(9) for item in by(f"P{n}", hour)]
    assert top_publications(density(singles, NOW, LONDON, timedelta(days=1)), 5) == []
    # Two stand out; the next three tie with two more left out: the tie goes to Other.
    items = by("A", hour, 9) + by("B", hour, 6)
    for name in ("C", "D", "E", "F", "G"):
        items += by(name, hour, 2)
    slots = density(items, NOW, LONDON, timedelta(days=1))
    assert top_publications(slots, 5) == ["A", "B"]
    assert top_publications(slots, 7) == ["A", "B", "C", "D", "E", "F", "G"]


def test_rows_stack_the_top_publications_and_the_rest_as_other() -> None:
    hour = NOW - timedelta(minutes=30)
    items: list[Headline] = []
    for n, name in enumerate(["A", "B", "C", "D", "E", "F", "G"], start=1):
        items += by(name, hour - timedelta(hours=2), 10 - n)  # A 9 ... G 3 in an earlier slot
    items += by("G", hour) + by("A", hour, 2) + by("F", hour)
    # Over the window: A 11, B 8, C 7, D 6, E 5, F 5, G 4. E and F tie at the cut of 5:
    # neither gets a colour the other would not, so both go to Other.
    rows = density_rows(items, NOW, LONDON, timedelta(days=1), top=5)
    newest = [r for r in rows if r["start"] <= hour < r["end"]]
    assert [(r["publication"], r["count"], r["rank"]) for r in newest] == [
        ("A", 2, 0),
        ("Other", 2, 4),
    ]
    assert newest[-1]["is_other"] and not newest[0]["is_other"]
    assert all(r["slot_total"] == 4 for r in newest)
    assert newest[0]["top_publications"] == "A 2, F 1, G 1"
    assert newest[0]["label"] == "03:00–04:00, 18 Sep"  # London wall-clock time (BST)
    assert newest[0]["start"] == datetime(2024, 9, 18, 2, tzinfo=UTC)
    earlier = [r for r in rows if r["slot_total"] == 42]
    assert [r["publication"] for r in earlier] == ["A", "B", "C", "D", "Other"]
    assert earlier[-1]["count"] == 5 + 4 + 3
    assert earlier[0]["top_publications"] == "A 9, B 8, C 7 and 4 more"


def test_a_publication_called_other_keeps_its_name() -> None:
    items = by("Other", NOW, 3) + by("X", NOW, 2) + by("Y", NOW)
    rows = density_rows(items, NOW, UTC, timedelta(days=1), top=2)
    assert [(r["publication"], r["count"]) for r in rows if r["count"]] == [
        ("Other", 3),
        ("X", 2),
        ("Other*", 1),
    ]


def test_empty_slots_keep_one_empty_row() -> None:
    rows = density_rows([], NOW, UTC, timedelta(days=1))
    assert len(rows) == 25
    assert all(r["count"] == 0 and r["publication"] is None for r in rows)
    assert not any(r["is_spike"] or r["is_other"] for r in rows)
    assert all(r["top_publications"] == "" for r in rows)


# Headlines spread over nine days around a clock up to a year on, in zones with odd offsets.
_LISTS = dict(
    offsets=st.lists(st.integers(-3_600, 9 * 86_400), max_size=300),
    publications=st.lists(st.sampled_from("ABCDEFGH"), min_size=1),
    span_days=st.sampled_from([1, 2, 3, 7]),
    zone=st.sampled_from([UTC, LONDON, ZoneInfo("America/St_Johns"), ZoneInfo("Asia/Kolkata")]),
    now_shift=st.integers(0, 366 * 86_400),
)


@settings(max_examples=60, deadline=None)
@given(**_LISTS, top=st.integers(0, 6))
def test_counts_agree_with_the_list(
    offsets: list[int],
    publications: list[str],
    span_days: int,
    zone: ZoneInfo,
    now_shift: int,
    top: int,
) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=now_shift)
    span = timedelta(days=span_days)
    items = [
        by(publications[i % len(publications)], now - timedelta(seconds=s))[0]
        for i, s in enumerate(offsets)
    ]
    rows = density_rows(items, now, zone, span, top=top)
    inside = [h for h in items if now - h.published < span]
    assert sum(r["count"] for r in rows) == len(inside)
    per_slot: dict[datetime, int] = {}
    for r in rows:
        per_slot[r["start"]] = per_slot.get(r["start"], 0) + r["count"]
        assert r["count"] <= r["slot_total"]
    assert all(per_slot[r["start"]] == r["slot_total"] for r in rows)
    named = {r["publication"] for r in rows if r["count"] and not r["is_other"]}
    assert len(named) <= top
    starts = sorted(per_slot)
    assert starts[0] <= now - span and starts[-1] <= now


def test_ten_thousand_headlines() -> None:
    shares = [k for k in range(37) for _ in range(37 - k)]  # P0 most: the leaders stand out
    items = [
        by(f"P{shares[i % len(shares)]}", NOW - timedelta(seconds=(i * 7919) % (8 * 86_400)))[0]
        for i in range(10_000)
    ]
    rows = density_rows(items, NOW, LONDON, timedelta(days=7))
    inside = sum(1 for h in items if NOW - h.published < timedelta(days=7))
    assert sum(r["count"] for r in rows) == inside
    assert len({r["publication"] for r in rows}) == 6  # five leaders and "Other"


# --- spikes --------------------------------------------------------------------------------


def test_flat_data_has_no_spikes() -> None:
    for per_hour in (1, 3, 10, 50):
        items = [
            h
            for hours in range(48)
            for h in by("P", NOW - timedelta(hours=hours, minutes=1), per_hour)
        ]
        slots = density(items, NOW, UTC, timedelta(days=2))
        assert not any(s.is_spike for s in slots), per_hour


def test_one_burst_slot_is_a_spike() -> None:
    items = [h for hours in range(48) for h in by("P", NOW - timedelta(hours=hours, minutes=1), 2)]
    items += by("Burst", NOW - timedelta(hours=20, minutes=30), 12)
    slots = density(items, NOW, UTC, timedelta(days=2))
    spikes = [s for s in slots if s.is_spike]
    assert len(spikes) == 1 and spikes[0].count == 14
    assert spikes[0].start == datetime(2024, 9, 17, 6, tzinfo=UTC)
    rows = density_rows(items, NOW, UTC, timedelta(days=2))
    assert {r["start"] for r in rows if r["is_spike"]} == {spikes[0].start}


def test_ordinary_ups_and_downs_are_not_spikes() -> None:
    # A busy topic: 8-14 an hour by day, 1-3 by night, no burst.
    items = []
    for hours in range(48):
        local_hour = (NOW - timedelta(hours=hours)).hour
        n = 8 + hours % 7 if 7 <= local_hour <= 22 else 1 + hours % 3
        items += by("P", NOW - timedelta(hours=hours, minutes=1), n)
    assert not any(s.is_spike for s in density(items, NOW, UTC, timedelta(days=2)))


def test_empty_and_one_headline_windows_have_no_spikes() -> None:
    assert not any(s.is_spike for s in density([], NOW, UTC, timedelta(days=7)))
    one = density([at(NOW - timedelta(hours=3))], NOW, UTC, timedelta(days=7))
    assert not any(s.is_spike for s in one)
    two = density(by("P", NOW - timedelta(hours=3), 2), NOW, UTC, timedelta(days=7))
    assert not any(s.is_spike for s in two)


def test_spike_threshold_rule() -> None:
    assert spike_threshold([]) == float("inf")
    assert spike_threshold([0] * 20) == 3  # a quiet window: three at once stand out
    assert spike_threshold([4] * 20) == 4 + 3 * 2  # flat: Poisson noise sqrt(4) = 2
    # A burst barely moves the median, so it does not hide itself.
    assert spike_threshold([2] * 30 + [40]) == spike_threshold([2] * 31)


def test_a_chosen_slot_holds_what_its_bar_counts() -> None:
    items = [at(NOW - timedelta(minutes=m)) for m in (-50, -5, 10, 30, 70, 200)]
    slots = density(items, NOW, UTC, timedelta(days=1))
    for slot in slots:
        assert len(headlines_in(items, slot.start, slot.end, NOW)) == slot.count
    newest = slots[-1]
    # 03:00-04:00 holds 03:12, 03:27 and, though dated 04:12, the one ahead of the clock.
    assert len(headlines_in(items, newest.start, newest.end, NOW)) == newest.count == 3


def test_a_store_that_started_recently_is_not_all_spikes() -> None:
    """Feeds carry their latest items only, so a new store holds a day or two of a 7-day
    window: the empty days before it are not the norm the busy ones are measured against."""
    items = [h for hours in range(36) for h in by("P", NOW - timedelta(hours=hours, minutes=1), 9)]
    slots = density(items, NOW, UTC, timedelta(days=7))
    assert sum(s.count for s in slots) == 36 * 9
    assert not any(s.is_spike for s in slots)
    # A burst in that covered part still stands out.
    burst = by("Burst", NOW - timedelta(hours=20, minutes=30), 60)
    spikes = [s for s in density(items + burst, NOW, UTC, timedelta(days=7)) if s.is_spike]
    assert len(spikes) == 1 and spikes[0].count == 9 * 6 + 60


WEEK = timedelta(days=7)


def test_range_in_window_keeps_what_the_chart_shows_and_cuts_the_rest() -> None:
    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)  # 04:22 in London
    slots = density([], now, LONDON, WEEK)
    first, last = slots[0].start, slots[-1].end
    assert first == datetime(2024, 9, 11, 0, 0, tzinfo=LONDON)  # the first 6-hour slot
    # A range picked on the chart, from its first slot to its last, is kept as it is.
    assert range_in_window(first, last, now, LONDON, WEEK) == (first, last)
    inside = (now - timedelta(hours=4), now - timedelta(hours=1))
    assert range_in_window(*inside, now, LONDON, WEEK) == inside
    # Partly outside: cut to the chart's ends.
    assert range_in_window(now - timedelta(days=30), inside[1], now, LONDON, WEEK) == (
        first,
        inside[1],
    )
    assert range_in_window(inside[0], now + timedelta(days=30), now, LONDON, WEEK) == (
        inside[0],
        last,
    )
    # Wholly outside, or empty once cut: nothing.
    month_ago = now - timedelta(days=30)
    assert range_in_window(month_ago, month_ago + timedelta(hours=1), now, LONDON, WEEK) is None
    assert range_in_window(last, last + timedelta(hours=1), now, LONDON, WEEK) is None


def test_range_in_window_takes_the_calendar_ends() -> None:
    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    earliest = datetime.min.replace(tzinfo=UTC)
    latest = datetime.max.replace(tzinfo=UTC)
    slots = density([], now, LONDON, WEEK)
    whole = (slots[0].start, slots[-1].end)
    assert range_in_window(earliest, latest, now, LONDON, WEEK) == whole
    assert range_in_window(earliest, earliest + timedelta(days=1), now, LONDON, WEEK) is None


@settings(max_examples=80, deadline=None)
@given(**_LISTS, edges=st.integers(0, 5))
def test_newest_first_lists_are_counted_as_any_other_order(
    offsets: list[int],
    publications: list[str],
    span_days: int,
    zone: ZoneInfo,
    now_shift: int,
    edges: int,
) -> None:
    """The page's lists go newest first, counted a slot at a time: the same slots as
    placing each headline alone (the order of any other list)."""
    now = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=now_shift)
    span = timedelta(days=span_days)
    bounds = [s.start for s in density([], now, zone, span)]
    items = [
        by(publications[i % len(publications)], now - timedelta(seconds=s))[0]
        for i, s in enumerate(offsets)
    ]
    items += [by("E", moment)[0] for moment in [now - span, *bounds[:edges]]]  # on the edges
    newest_first = sorted(items, key=lambda h: h.published, reverse=True)
    shuffled = newest_first[1::2] + newest_first[::2]  # not newest first when 3 or more
    assert density(newest_first, now, zone, span) == density(shuffled, now, zone, span)
