"""What the page shows: the topic's headlines, the sidebar filters, and the buckets.

Each headline's text is normalised once (`Indexed`), so a keyword typed in the sidebar is a
fast substring test per headline rather than a regex over raw text. A topic's indexed window
(`IndexedWindow`) grows by the headlines stored since it was read and drops those that leave
it, instead of being read and normalised again.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from operator import attrgetter
from typing import TypeVar

from lib.buckets import BUCKETS, Bucket, bucketer
from lib.model import Headline, Topic
from lib.query import Query, normalize_text, parse_query

T = TypeVar("T")


class Indexed:
    """A headline with the normalised text the keyword box searches (title and publication),
    its store row id and its story id.

    The text is made on first use, not when the index is read: a fresh server's first page
    (no keyword) does not wait for 100,000 of them (≈ 0.5 s). Never changed after that.
    """

    __slots__ = ("_text", "headline", "row", "story")

    def __init__(self, headline: Headline, text: str | None = None, row: int = 0, story: int = 0):
        self.headline = headline
        self._text = text
        # The store's row id: headlines published at one time are ordered as the store
        # orders them (the later row first), so an index that grew matches one read whole.
        self.row = row
        self.story = story  # the store's story id (topics' scope; 0 when read without one)

    @property
    def text(self) -> str:
        """The normalised title and publication (`normalize_text`), made once."""
        text = self._text
        if text is None:  # two threads may both make it: the same string either way
            item = self.headline
            text = self._text = normalize_text(f"{item.title} {item.publication}")
        return text

    def _key(self) -> tuple[Headline, int, int]:
        return (self.headline, self.row, self.story)  # the text follows from the headline

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Indexed) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Indexed({self.headline!r}, row={self.row}, story={self.story})"


def topic_filter(topic: Topic) -> Callable[[Headline], bool]:
    """Whether a headline belongs on the topic's page (the query parsed once).

    Items from a topical source are all kept; items from other sources are kept when their
    title or summary matches the topic's query. Items from URLs the topic no longer lists
    are dropped.
    """
    topical = {source.url: source.topical for source in topic.sources}
    query = parse_query(topic.query)

    def belongs(item: Headline) -> bool:
        kind = topical.get(item.source)
        if kind is None:
            return False
        return kind or query.matches_normalized(normalize_text(f"{item.title} {item.summary}"))

    return belongs


def topic_headlines(headlines: Iterable[Headline], topic: Topic) -> list[Headline]:
    """The headlines that belong on the topic's page (see `topic_filter`)."""
    return list(filter(topic_filter(topic), headlines))


def index_headlines(
    headlines: Iterable[Headline],
    rows: Iterable[int] | None = None,
    stories: Iterable[int] | None = None,
) -> tuple[Indexed, ...]:
    """Each headline ready for keyword matching (its text normalised on first use);
    `rows` are their store row ids, `stories` their story ids."""
    items = list(headlines)
    numbers = [0] * len(items) if rows is None else rows
    ids = [0] * len(items) if stories is None else stories
    return tuple(
        Indexed(item, None, row, story)
        for item, row, story in zip(items, numbers, ids, strict=True)
    )


def _descending(entry: Indexed) -> tuple[float, int]:
    # bisect wants ascending keys; the entries go newest first.
    return (-entry.headline.published.timestamp(), -entry.row)


def _age(entry: Indexed) -> float:
    return -entry.headline.published.timestamp()


def ranked_publications(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """Each publication with its count, most first, then by name."""
    return tuple(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0].casefold())))


@dataclass(frozen=True, slots=True)
class IndexedWindow:
    """A topic's indexed headlines published at or after `since`, newest first (at one
    time, the later store row first), with each publication's count.

    A value: `grown` and `moved` give a new window and leave this one as it was, so a page
    reading this one never sees a half-made change. The entries are shared, not copied.
    """

    entries: tuple[Indexed, ...]
    counts: Mapping[str, int]  # publication → its headlines here (never changed in place)
    publications: tuple[tuple[str, int], ...]  # the counts, most first, then by name
    since: datetime

    @classmethod
    def of(cls, entries: Sequence[Indexed], since: datetime) -> IndexedWindow:
        """The window of `entries`: newest first, as the store reads them, none before `since`."""
        counts = Counter(entry.headline.publication for entry in entries)
        return cls(tuple(entries), counts, ranked_publications(counts), since)

    def grown(self, new: Iterable[Indexed]) -> IndexedWindow:
        """This window with `new` headlines (not held yet) in their places; those published
        before the window start are left out. A new headline may be older than some held:
        feeds report late."""
        fresh = sorted(
            (entry for entry in new if entry.headline.published >= self.since), key=_descending
        )
        if not fresh:
            return self
        # Each new entry goes where a full read would put it: a slice of the held entries
        # between consecutive places, so the cost is the copy, not a Python loop over them.
        pieces: list[Sequence[Indexed]] = []
        start = 0
        for entry in fresh:
            place = bisect_left(self.entries, _descending(entry), lo=start, key=_descending)
            pieces += (self.entries[start:place], (entry,))
            start = place
        pieces.append(self.entries[start:])
        counts = Counter(self.counts)
        counts.update(entry.headline.publication for entry in fresh)
        entries = tuple(itertools.chain.from_iterable(pieces))
        return IndexedWindow(entries, counts, ranked_publications(counts), self.since)

    def moved(self, since: datetime) -> IndexedWindow:
        """The window from `since` on: the headlines published before it are dropped. A start
        before this window's cannot bring back what it never held: this window then."""
        if since <= self.since:
            return self
        cut = bisect_right(self.entries, -since.timestamp(), key=_age)
        if cut == len(self.entries):
            return IndexedWindow(self.entries, self.counts, self.publications, since)
        counts = Counter(self.counts)
        counts.subtract(entry.headline.publication for entry in self.entries[cut:])
        counts = Counter({name: n for name, n in counts.items() if n > 0})
        return IndexedWindow(self.entries[:cut], counts, ranked_publications(counts), since)


def filter_headlines(
    indexed: Sequence[Indexed],
    keyword: Query | None = None,
    include: Collection[str] = (),
    exclude: Collection[str] = (),
) -> list[Headline]:
    """The headlines that pass the keyword query and the publication filters.

    `include` (when not empty) keeps only those publications; `exclude` drops publications.
    """
    include_set, exclude_set = set(include), set(exclude)
    match = None if keyword is None or keyword.is_empty else keyword.matches_normalized
    return [
        entry.headline
        for entry in indexed
        if (not include_set or entry.headline.publication in include_set)
        and entry.headline.publication not in exclude_set
        and (match is None or match(entry.text))
    ]


def publication_counts(headlines: Iterable[Headline]) -> list[tuple[str, int]]:
    """Each publication with its number of headlines, most first, then by name."""
    return list(ranked_publications(Counter(map(attrgetter("publication"), headlines))))


def _published(item: Headline) -> datetime:
    return item.published


def group_by_bucket(
    items: Iterable[T], now: datetime, zone: tzinfo, when: Callable[[T], datetime] = _published
) -> list[tuple[Bucket, list[T]]]:
    """Every bucket in page order with its items, newest first; older items are left out.

    `when` gives an item's time: a headline's publication, or a story's newest headline.
    """
    bucket_of = bucketer(now, zone)
    ordered = sorted(items, key=when, reverse=True)
    # Newest first, an item's bucket never comes before the previous item's in page order
    # (older than the window: after every bucket), so each bucket is one slice of `ordered`,
    # found by bisection: a few look-ups per bucket, not one per item.
    rank = {bucket: number for number, bucket in enumerate(BUCKETS)}
    last = len(BUCKETS)

    def place(item: T) -> int:
        bucket = bucket_of(when(item))
        return last if bucket is None else rank[bucket]

    groups = []
    start = 0
    for number, bucket in enumerate(BUCKETS):
        end = bisect_right(ordered, number, lo=start, key=place)
        groups.append((bucket, ordered[start:end]))
        start = end
    return groups


def first_page(
    groups: Sequence[tuple[Bucket, list[T]]], limit: int
) -> tuple[list[tuple[Bucket, list[T]]], int]:
    """The groups cut to the first `limit` headlines in page order, and how many were left out.

    Buckets after the cut are left out, so the page never shows an empty heading for a
    bucket whose headlines are behind "view more"; empty buckets after the last shown
    headline are left out too. Empty ones before it keep their heading, as on the seed page.
    """
    shown: list[tuple[Bucket, list[T]]] = []
    left = limit
    hidden = 0
    for bucket, items in groups:
        if left <= 0:
            hidden += len(items)
            continue
        shown.append((bucket, items[:left]))
        hidden += max(0, len(items) - left)
        left -= len(items)
    while shown and not shown[-1][1]:
        shown.pop()
    return shown, hidden


def in_pages(
    groups: Sequence[tuple[Bucket, list[T]]], size: int
) -> list[list[tuple[Bucket, list[T], bool]]]:
    """The groups (`first_page`'s) cut into pages of `size` items in page order: each page
    its groups as (bucket, items, continued), `continued` when the bucket's items began on
    an earlier page. An empty bucket goes with the page of the next item."""
    pages: list[list[tuple[Bucket, list[T], bool]]] = [[]]
    room = size
    for bucket, items in groups:
        start = 0
        while True:
            if room == 0 and (start < len(items) or not items):
                pages.append([])
                room = size
            taken = items[start : start + room]
            pages[-1].append((bucket, taken, start > 0))
            start += len(taken)
            room -= len(taken)
            if start >= len(items):
                break
    return pages if pages[0] else []
