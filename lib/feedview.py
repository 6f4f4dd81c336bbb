"""A view of a topic as a feed: what the Headlines page lists for the same link, newest first,
at most `FEED_ITEMS` entries, and the validators a conditional request is answered with.

The page and the feed addresses (`ui/feedroutes.py`) go through the same steps: the keyword
and publication filters (`filter_headlines`), the range chosen on the chart (`headlines_in`),
the story grouping narrowed to what is left, and the page's buckets (`group_by_bucket`),
which also leave out what is older than the window.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from lib.density import headlines_in, range_in_window
from lib.model import Topic
from lib.query import Query
from lib.selection import Indexed, filter_headlines, group_by_bucket
from lib.stories import Grouping, Story
from lib.times import WINDOW

# The most entries a feed address gives (the newest): what a feed reader shows of a view
# between two polls. The page's own downloads hold the whole view.
FEED_ITEMS = 100


@dataclass(frozen=True, slots=True)
class View:
    """What a link asks for: the topic and the page's filters."""

    topic: Topic
    keyword: Query | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    zone: tzinfo = UTC  # the zone the range and the buckets are read in
    span: tuple[datetime, datetime] | None = None  # the chart's range, as the link gives it
    grouped: bool = True


def view_stories(
    view: View,
    indexed: Sequence[Indexed],
    grouping: Callable[[], Grouping],
    now: datetime,
    limit: int = FEED_ITEMS,
) -> list[Story]:
    """The first `limit` entries the page lists for `view` at `now`, in its order.

    `indexed` is the topic's index (`TopicIndex.indexed`), `grouping` its stories (made on
    first use, so only a grouped view pays for them). Ungrouped, each entry is a story of
    one headline. A range wholly outside the window lists nothing.
    """
    shown = filter_headlines(indexed, view.keyword, view.include, view.exclude)
    if view.span is not None:
        inside = range_in_window(*view.span, now, view.zone, WINDOW)
        shown = headlines_in(shown, *inside, now) if inside else []
    entries = grouping().narrow(shown) if view.grouped else [Story(item, ()) for item in shown]
    groups = group_by_bucket(entries, now, view.zone, lambda story: story.newest)
    listed: list[Story] = []
    for _, stories in groups:
        listed += stories[: limit - len(listed)]
        if len(listed) >= limit:
            break
    return listed


def entity_tag(version: int, *parts: object) -> str:
    """A strong ETag for what a feed address shows at a store `version`: the same in every
    app server on one store, new whenever the store or any of `parts` (the topic, the
    query, the format, the public address) changes."""
    return f'"{version}-{_digest(parts)}"'


@functools.lru_cache(maxsize=1024)
def _digest(parts: tuple[object, ...]) -> str:
    # Kept: a reader polling the same address asks for the same digest every time.
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def not_modified(
    tag: str,
    modified: datetime | None,
    if_none_match: str | None,
    if_modified_since: datetime | None,
) -> bool:
    """Whether a conditional request may be answered 304 (RFC 9110 13.1: If-None-Match,
    when sent, decides alone; a weak tag matches its strong twin)."""
    if if_none_match is not None:
        wanted = {item.strip().removeprefix("W/") for item in if_none_match.split(",")}
        return "*" in wanted or tag in wanted
    if if_modified_since is None or modified is None:
        return False
    return modified.replace(microsecond=0) <= if_modified_since


class KeptDocuments:
    """The documents made last, by ETag, each for `seconds` (`now` is a monotonic clock
    reading): an address polled again is answered with the same bytes instead of its view
    being filtered, grouped and written anew. The ETag holds the store's version and all a
    request asked, so only the clock moves under a kept document (its window start and
    build date), hence the short life. At most `most` are kept, the least used dropped."""

    def __init__(self, seconds: float, most: int = 64) -> None:
        self._lock = threading.Lock()
        self._held: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._seconds = seconds
        self._most = most

    def get(self, tag: str, now: float) -> bytes | None:
        """The document kept for `tag`, unless there is none or it is too old."""
        with self._lock:
            held = self._held.get(tag)
            if held is None or now - held[0] > self._seconds:
                return None
            self._held.move_to_end(tag)
            return held[1]

    def put(self, tag: str, body: bytes, now: float) -> None:
        """Keep `body` for `tag`, made at `now`."""
        with self._lock:
            self._held[tag] = (now, body)
            self._held.move_to_end(tag)
            while len(self._held) > self._most:
                self._held.popitem(last=False)
