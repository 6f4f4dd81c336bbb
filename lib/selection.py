"""What the page shows: the topic's headlines, the sidebar filters, and the buckets.

Each headline's text is normalised once (`Indexed`), so a keyword typed in the sidebar is a
fast substring test per headline rather than a regex over raw text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TypeVar

from lib.buckets import BUCKETS, Bucket, bucketer
from lib.model import Headline, Topic
from lib.query import Query, normalize_text, parse_query

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Indexed:
    """A headline with the normalised text the keyword box searches (title and publication)."""

    headline: Headline
    text: str


def topic_headlines(headlines: Iterable[Headline], topic: Topic) -> list[Headline]:
    """The headlines that belong on the topic's page.

    Items from a topical source are all kept; items from other sources are kept when their
    title or summary matches the topic's query. Items from URLs the topic no longer lists
    are dropped.
    """
    topical = {source.url: source.topical for source in topic.sources}
    query = parse_query(topic.query)
    kept = []
    for item in headlines:
        if item.source not in topical:
            continue
        if topical[item.source] or query.matches_normalized(
            normalize_text(f"{item.title} {item.summary}")
        ):
            kept.append(item)
    return kept


def index_headlines(headlines: Iterable[Headline]) -> tuple[Indexed, ...]:
    """Normalise each headline once for keyword matching."""
    return tuple(
        Indexed(item, normalize_text(f"{item.title} {item.publication}")) for item in headlines
    )


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
    counts = Counter(item.publication for item in headlines)
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0].casefold()))


def _published(item: Headline) -> datetime:
    return item.published


def group_by_bucket(
    items: Iterable[T], now: datetime, zone: tzinfo, when: Callable[[T], datetime] = _published
) -> list[tuple[Bucket, list[T]]]:
    """Every bucket in page order with its items, newest first; older items are left out.

    `when` gives an item's time: a headline's publication, or a story's newest headline.
    """
    groups: dict[Bucket, list[T]] = {bucket: [] for bucket in BUCKETS}
    bucket_of = bucketer(now, zone)
    current: Bucket | None = None
    target: list[T] = []
    for item in sorted(items, key=when, reverse=True):
        bucket = bucket_of(when(item))
        if bucket is None:
            break  # newest first: every item after this one is older than the window too
        if bucket is not current:  # buckets come in page order, so each is entered once
            current, target = bucket, groups[bucket]
        target.append(item)
    return list(groups.items())


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
