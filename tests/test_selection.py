"""Topic matching, sidebar filters, publication counts, buckets and paging."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from lib.buckets import Bucket, bucketer
from lib.model import Headline, Source, Topic
from lib.query import normalize_text, parse_query
from lib.selection import (
    Indexed,
    IndexedWindow,
    filter_headlines,
    first_page,
    group_by_bucket,
    in_pages,
    index_headlines,
    publication_counts,
    topic_headlines,
)

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
AGG = "https://agg.test/rss"
WORLD = "https://world.test/rss"
TOPIC = Topic(
    slug="china-russia",
    title="China-Russia news",
    about="",
    query='(china OR chinese OR "xi jinping") AND (russia OR russian OR putin)',
    timezone="Europe/London",
    sources=(Source("Agg", AGG, topical=True), Source("World", WORLD)),
)


def make(title: str, source: str = WORLD, pub: str = "World", hours: float = 1, summary=""):
    return Headline(
        title=title,
        link=None,
        publication=pub,
        label=None,
        published=NOW - timedelta(hours=hours),
        source=source,
        guid=title,
        summary=summary,
    )


def test_topical_sources_keep_all_and_others_must_match_the_query() -> None:
    items = [
        make("Serbia is Not a Russian Ally", AGG, "The National Interest"),
        make("Russian, Chinese Navies Conduct Firing Exercises"),
        make("Taxi drivers strike in Moscow"),
        make("Summit ends", summary="Xi Jinping and Putin signed a deal"),
        make("China and Russia trade", "https://gone.test/rss"),  # no longer a source
    ]
    kept = [h.title for h in topic_headlines(items, TOPIC)]
    assert kept == [
        "Serbia is Not a Russian Ally",
        "Russian, Chinese Navies Conduct Firing Exercises",
        "Summit ends",
    ]


def test_keyword_and_publication_filters_combine() -> None:
    items = [
        make("Gas pipeline talks", pub="Reuters"),
        make("Gas prices fall", pub="BBC News"),
        make("Navy drills", pub="Reuters"),
    ]
    index = index_headlines(items)
    gas = parse_query("gas")
    both = ["Gas pipeline talks", "Gas prices fall"]
    assert [h.title for h in filter_headlines(index, gas)] == both
    assert [h.title for h in filter_headlines(index, gas, include=["Reuters"])] == [
        "Gas pipeline talks"
    ]
    assert [h.title for h in filter_headlines(index, gas, exclude=["Reuters"])] == [
        "Gas prices fall"
    ]
    # The keyword box searches the publication too.
    assert [h.title for h in filter_headlines(index, parse_query("bbc"))] == ["Gas prices fall"]
    assert filter_headlines(index, parse_query('"gas pipeline" -talks')) == []
    assert len(filter_headlines(index, parse_query(""))) == 3


def test_an_indexed_headline_makes_its_text_once_when_first_asked() -> None:
    item = make("Gas Pipeline: talks", pub="Reuters")
    entry = index_headlines([item], [7], [3])[0]
    assert entry._text is None  # not made when the index is read
    assert (
        entry.text
        == normalize_text("Gas Pipeline: talks Reuters")
        == " gas pipeline talks reuters "
    )
    assert entry.text is entry._text  # kept
    # Given text is kept as given; entries are equal by headline, row and story.
    assert Indexed(item, "given", 7, 3).text == "given"
    assert Indexed(item, "given", 7, 3) == entry and hash(Indexed(item, None, 7, 3)) == hash(entry)
    assert Indexed(item, None, 8, 3) != entry and Indexed(item, None, 7, 4) != entry


def test_publication_counts_most_first_then_by_name() -> None:
    items = [make("a", pub="b-pub"), make("b", pub="A-pub"), make("c", pub="Z"), make("d", pub="Z")]
    assert publication_counts(items) == [("Z", 2), ("A-pub", 1), ("b-pub", 1)]


def test_groups_are_in_page_order_and_newest_first() -> None:
    items = [make("old", hours=20), make("new", hours=0.1), make("mid", hours=0.2)]
    groups = group_by_bucket(items, NOW, LONDON)
    assert [b for b, _ in groups] == list(Bucket)
    assert [h.title for h in dict(groups)[Bucket.HALF_HOUR]] == ["new", "mid"]
    assert [h.title for h in dict(groups)[Bucket.YESTERDAY]] == ["old"]


def test_groups_match_each_items_own_bucket_at_any_hour_and_zone() -> None:
    """The buckets are slices found by bisection: the same as placing each item alone."""
    rng = random.Random(4)
    for zone in (LONDON, ZoneInfo("Pacific/Auckland"), ZoneInfo("America/St_Johns"), UTC):
        for hour in range(0, 24, 5):
            now = NOW.replace(hour=hour) + timedelta(days=rng.randint(0, 200))
            items = [make(f"t{n}", hours=rng.uniform(-1, 24 * 8)) for n in range(300)] + [
                make("edge", hours=24 * 7),
                make("tie a", hours=2),
                make("tie b", hours=2),
            ]
            shifted = [replace(item, published=item.published - NOW + now) for item in items]
            expected: dict[Bucket, list[Headline]] = {bucket: [] for bucket in Bucket}
            for item in sorted(shifted, key=lambda h: h.published, reverse=True):
                bucket = bucketer(now, zone)(item.published)
                if bucket is not None:
                    expected[bucket].append(item)
            assert group_by_bucket(shifted, now, zone) == list(expected.items())


def test_pages_of_the_list_continue_buckets_and_keep_every_item_once() -> None:
    groups = [("a", [1, 2, 3]), ("b", []), ("c", [4, 5, 6, 7])]
    assert in_pages(groups, 2) == [
        [("a", [1, 2], False)],
        [("a", [3], True), ("b", [], False), ("c", [4], False)],  # an empty bucket: in place
        [("c", [5, 6], True)],
        [("c", [7], True)],
    ]
    assert in_pages(groups, 3) == [
        [("a", [1, 2, 3], False)],
        [("b", [], False), ("c", [4, 5, 6], False)],  # goes with the page of the next item
        [("c", [7], True)],
    ]
    assert in_pages(groups, 50) == [[(b, items, False) for b, items in groups]]
    assert in_pages([], 50) == []
    for size in range(1, 9):
        pages = in_pages(groups, size)
        assert [i for page in pages for _, items, _ in page for i in items] == list(range(1, 8))
        assert all(sum(len(items) for _, items, _ in page) <= size for page in pages)


def test_first_page_cuts_across_buckets() -> None:
    items = [make(f"h{i}", hours=0.2 * i) for i in range(1, 5)] + [make("y", hours=20)]
    groups = group_by_bucket(items, NOW, LONDON)
    shown, hidden = first_page(groups, 3)
    assert [(b, [h.title for h in hs]) for b, hs in shown] == [(Bucket.HALF_HOUR, ["h1", "h2"]),
                                                              (Bucket.HOUR, ["h3"])]  # fmt: skip
    assert hidden == 2
    everything, none_hidden = first_page(groups, 50)
    assert none_hidden == 0
    # Every heading up to the last one with headlines; none after it.
    assert [b for b, _ in everything] == list(Bucket)[:-1]
    assert first_page(group_by_bucket([], NOW, LONDON), 50) == ([], 0)


# --- a window that grows and moves --------------------------------------------------------


def read_whole(rows: list[tuple[Headline, int]], since: datetime) -> IndexedWindow:
    """The window as a full read of the store makes it: newest first, the later row first."""
    kept = sorted(
        (pair for pair in rows if pair[0].published >= since),
        key=lambda pair: (pair[0].published, pair[1]),
        reverse=True,
    )
    return IndexedWindow.of(index_headlines([h for h, _ in kept], [r for _, r in kept]), since)


def same(grown: IndexedWindow, fresh: IndexedWindow) -> None:
    assert [(e.headline.title, e.row) for e in grown.entries] == [
        (e.headline.title, e.row) for e in fresh.entries
    ]
    assert grown.entries == fresh.entries and grown.since == fresh.since
    assert dict(grown.counts) == dict(fresh.counts)
    assert (
        grown.publications
        == fresh.publications
        == tuple(publication_counts(e.headline for e in fresh.entries))
    )


def test_a_window_grown_and_moved_equals_one_read_whole() -> None:
    rng = random.Random(5)
    pubs = ["Reuters", "AP", "BBC", "ap"]
    stored: list[tuple[Headline, int]] = []
    row = 0

    def arrive(count: int, newest: float, oldest: float) -> list[tuple[Headline, int]]:
        nonlocal row
        batch = []
        for _ in range(count):
            row += 1
            # Whole minutes: many headlines share a time, as feeds give them.
            hours = round(rng.uniform(newest, oldest) * 60) / 60
            batch.append((make(f"h{row}", pub=rng.choice(pubs), hours=hours), row))
        stored.extend(batch)
        return batch

    since = NOW - timedelta(days=7)
    arrive(300, 0, 24 * 7)
    window = read_whole(stored, since)
    same(window, read_whole(stored, since))
    for step in range(12):
        # New headlines, some older than many held (feeds report late), some older than
        # the window start (left out); then the window start moves on.
        batch = arrive(rng.randint(0, 40), -step, 24 * 7.5)
        new = index_headlines([h for h, _ in batch], [r for _, r in batch])
        before = window
        window = window.grown(new)
        same(window, read_whole(stored, since))
        assert before.entries == read_whole(stored[: len(stored) - len(batch)], since).entries
        since += timedelta(hours=rng.choice([0, 1, 7]), minutes=rng.randint(0, 59))
        window = window.moved(since)
        same(window, read_whole(stored, since))
    # Moved past everything, then grown again from nothing.
    since = NOW + timedelta(days=30)
    window = window.moved(since)
    assert window.entries == () and window.publications == () and dict(window.counts) == {}
    late = [(replace(make("again", pub="AP"), published=since), row + 1)]
    stored.extend(late)
    window = window.grown(index_headlines([h for h, _ in late], [r for _, r in late]))
    same(window, read_whole(stored, since))


def test_a_window_start_before_the_held_one_changes_nothing() -> None:
    window = IndexedWindow.of(index_headlines([make("a", hours=2)], [1]), NOW - timedelta(hours=3))
    assert window.moved(NOW - timedelta(days=1)) is window
    assert window.grown([]) is window
    assert window.grown([Indexed(make("old", hours=4), "old", 2)]) is window
