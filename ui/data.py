"""Cached loaders around `lib`: settings, topics, the store, viewers' own feeds, the snapshot.

The topics' feeds are fetched by the refresher loop (lib/refresher.py), never here.
Caching rules: the fetch of a viewer's own feeds is `st.cache_data` with the configured TTL
(shared by every viewer); the big per-topic headline index is kept once per topic and store
(an `st.cache_resource` holder) and grows by what was stored since the store version it read
(dropping what leaves the window as time goes on), so a run never re-reads the window,
re-normalises text it has seen or regroups stories when nothing changed, never pickles
thousands of headlines on each access, and old indexes do not pile up. A viewer's own
feeds get a small index of their own, merged with the topic's for each run (`page_index`):
the topic's headlines are never copied per viewer.
"""

from __future__ import annotations

import heapq
import tempfile
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path

import streamlit as st

from lib.config import Settings, load_settings, load_topics
from lib.errors import StoreError
from lib.fetch import FetchLimits, FetchResult
from lib.model import Headline, Source, Topic
from lib.refresh import RefreshReport, refresh_sources
from lib.selection import (
    Indexed,
    IndexedWindow,
    index_headlines,
    ranked_publications,
    topic_filter,
)
from lib.snapshot import Snapshot, fill_store, load_snapshot
from lib.store import Store
from lib.stories import Grouping, Story
from lib.times import WINDOW
from ui.clock import now as clock_now
from ui.clock import real_now


def settings() -> Settings:
    """The settings from the environment (cheap: read on every run)."""
    return load_settings()


@st.cache_data(max_entries=8, show_spinner=False)
def _topics(path: str, mtime_ns: int) -> tuple[Topic, ...]:
    del mtime_ns  # part of the cache key only: an edited file is read again
    return load_topics(Path(path))


def topics(config: Settings) -> tuple[Topic, ...]:
    """The topics file's topics; re-read when the file changes. Raises ConfigError."""
    path = config.topics_path
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0  # load_topics reports the missing file in words
    return _topics(str(path), mtime)


@st.cache_resource(show_spinner=False)
def store(path: str) -> Store:
    """The store at `path`, opened once per process."""
    return Store(path)


# --- viewers' own feeds -----------------------------------------------------------------------


class _Progress:
    """How many sources of a running refresh are done; read by every viewer's page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done = 0
        self.total = 0

    def start(self, total: int) -> None:
        with self._lock:
            self.done, self.total = 0, total

    def tick(self, _result: FetchResult) -> None:
        with self._lock:
            self.done += 1

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self.done, self.total


_PROGRESS: dict[str, _Progress] = {}
_REFRESHERS: dict[float, Callable[..., RefreshReport | StoreError]] = {}
_REFRESHERS_LOCK = threading.Lock()


def _refresher(ttl: float) -> Callable[..., RefreshReport | StoreError]:
    """The cached refresh function for a TTL (the TTL is fixed when a cache is made)."""
    with _REFRESHERS_LOCK:
        if ttl not in _REFRESHERS:

            @st.cache_data(ttl=ttl, max_entries=64, show_spinner=False)
            def run(
                db_path: str,
                slug: str,
                sources: tuple[Source, ...],
                deadline: float,
                at: str,
                untrusted: bool,
            ) -> RefreshReport | StoreError:
                del at  # key only: the clock when NEWS_CLOCK is fixed, else empty
                progress = _PROGRESS.setdefault(slug, _Progress())
                progress.start(len(sources))
                config = settings()
                try:
                    return refresh_sources(
                        slug,
                        sources,
                        store(db_path),
                        clock_now(config),
                        FetchLimits(deadline=deadline),
                        on_done=progress.tick,
                        on_plan=progress.start,
                        untrusted=[s.url for s in sources] if untrusted else (),
                        allow_private=config.allow_private_hosts,
                        real_now=real_now(),
                    )
                except StoreError as exc:
                    # Kept for the TTL like a report, so every rerun does not fetch every
                    # feed again only to fail at the store.
                    return exc

            _REFRESHERS[ttl] = run
        return _REFRESHERS[ttl]


def _refresh_args(config: Settings, topic: Topic, untrusted: bool) -> tuple[object, ...]:
    at = config.clock.isoformat() if config.clock else ""
    return (str(config.db_path), topic.slug, topic.sources, config.fetch_deadline, at, untrusted)


def refresh(
    config: Settings,
    topic: Topic,
    status: st.delta_generator.DeltaGenerator,
    *,
    untrusted: bool = False,
) -> RefreshReport:
    """Fetch the feeds of `topic` (a viewer's own, see ui/user_feeds.py) unless a fetch
    within the TTL can be reused; the topics file's feeds are the refresher loop's work.

    The work runs on a worker thread while this thread draws a progress bar in `status`
    counting sources done, so the headlines already on screen stay there meanwhile.
    `untrusted` marks feeds a viewer typed in (checked by lib/netguard.py, stored apart).
    Raises StoreError when the store cannot be written (kept, like a report, for the TTL).
    """
    run = _refresher(config.cache_ttl)
    args = _refresh_args(config, topic, untrusted)
    outcome: list[RefreshReport | StoreError] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(run(*args))
        except BaseException as exc:  # handed to the script thread, which raises it
            failure.append(exc)

    worker = threading.Thread(target=work, name=f"refresh-{topic.slug}", daemon=True)
    worker.start()
    worker.join(0.1)
    if worker.is_alive():
        progress = _PROGRESS.setdefault(topic.slug, _Progress())
        slot = status.empty()
        while worker.is_alive():
            done, total = progress.read()
            total = total or len(topic.sources)
            text = f"Refreshing: {done} of {total} sources done"
            slot.progress(min(done / total, 1.0), text=text)
            worker.join(0.2)
        slot.empty()
    if failure:
        raise failure[0]
    if isinstance(outcome[0], StoreError):
        raise outcome[0]
    return outcome[0]


def stored_after(db_path: str, topic: Topic, now: datetime) -> Callable[[int], list[str]]:
    """A reader of the guids of `topic`'s headlines stored after a store version and
    published in the window before `now` (for marking what arrived while a page was open):
    its cost follows what arrived. Its calls raise StoreError."""
    belongs = topic_filter(topic)

    def read(version: int) -> list[str]:
        arrivals = store(db_path).headlines_after(version, now - WINDOW)
        return [item.guid for item in arrivals.headlines if belongs(item)]

    return read


# --- the snapshot ------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def snapshot(folder: str) -> tuple[Snapshot, str]:
    """The bundled snapshot and the path of a store filled from it (built once per process)."""
    shot = load_snapshot(Path(folder))
    path = Path(tempfile.mkdtemp(prefix="news-snapshot-")) / "snapshot.db"
    fill_store(shot, Store(path))
    return shot, str(path)


def snapshot_topic(topic: Topic, shot: Snapshot) -> Topic:
    """The topic as the snapshot gives it: its own sources, the same text and query."""
    return replace(topic, sources=shot.sources, timezone=shot.timezone)


# --- headlines ---------------------------------------------------------------------------------


def _group(entries: Sequence[Indexed]) -> Grouping:
    """A viewer's own feeds' grouping: their headlines have no stored stories."""
    return Grouping.of(tuple(entry.headline for entry in entries))


def _from_stored(entries: Sequence[Indexed]) -> Grouping:
    """The topic's grouping from the stories stored with its headlines (no grouping)."""
    return Grouping.from_assigned(
        [entry.headline for entry in entries], [entry.story for entry in entries]
    )


class _Stories:
    """A story grouping made on first use (viewers arriving meanwhile wait for the one
    grouping), shared by the index it was made for and the ones cut from it as the window
    moves: a grouping of more headlines narrows to fewer (`Grouping.narrow`) unchanged."""

    def __init__(self, make: Callable[[], Grouping]) -> None:
        self._make: Callable[[], Grouping] | None = make
        self._grouping: Grouping | None = None
        self._lock = threading.Lock()

    def grouping(self) -> Grouping:
        with self._lock:
            if self._grouping is None:
                assert self._make is not None
                self._grouping, self._make = self._make(), None  # what it read is let go
            return self._grouping

    @property
    def made(self) -> Grouping | None:
        """The grouping, if it was made."""
        return self._grouping


class TopicIndex:
    """A topic's headlines in the window, normalised once for filtering, and grouped into
    stories on first use. Never changed once made: a store change or a window move gives
    a new index, so a page run reads one consistent index however the store moves on."""

    def __init__(
        self,
        indexed: tuple[Indexed, ...],
        publications: tuple[tuple[str, int], ...],
        version: int,
        since: datetime,
        *,
        window: IndexedWindow | None = None,
        stories: _Stories | None = None,
    ) -> None:
        self.indexed = indexed
        self.publications = publications
        self.version = version  # the store's version it was read at
        # The start of the window it holds: nothing before it is held. An index that
        # nothing has left yet serves later starts too, so this may be earlier.
        self.since = since
        self.window = window  # what grows (None for an index made otherwise)
        self._stories = stories or _Stories(partial(_group, indexed))
        self._narrowed: OrderedDict[Hashable, tuple[Story, ...]] = OrderedDict()
        self._narrowed_lock = threading.Lock()

    @classmethod
    def of(cls, window: IndexedWindow, version: int, stories: _Stories | None = None) -> TopicIndex:
        """The index holding `window`, read at the store's `version`."""
        return cls(
            window.entries,
            window.publications,
            version,
            window.since,
            window=window,
            stories=stories,
        )

    @property
    def headlines(self) -> tuple[Headline, ...]:
        """All of the topic's headlines, newest first."""
        return tuple(entry.headline for entry in self.indexed)

    def grouping(self) -> Grouping:
        """The headlines grouped into stories, made once; a filter narrows it
        (`Grouping.narrow`) instead of grouping again."""
        return self._stories.grouping()

    NARROWED_KEPT = 4  # views whose stories are remembered, per index

    def stories(self, view: Hashable, kept: Sequence[Headline]) -> tuple[Story, ...]:
        """The grouping narrowed to `kept` (`Grouping.narrow`), which the `view` (the filters
        and range that chose `kept` from this index) gives: remembered for the last few views
        of any viewer, so going back to one (a publication filter flipped back and forth)
        skips the pass over every kept headline (100,000: ≈ 180 ms a run). What is kept is
        mostly the grouping's own stories, shared: a view costs a list of references."""
        with self._narrowed_lock:
            found = self._narrowed.get(view)
            if found is not None:
                self._narrowed.move_to_end(view)
                return found
        made = tuple(self.grouping().narrow(kept))
        with self._narrowed_lock:
            self._narrowed[view] = made
            while len(self._narrowed) > self.NARROWED_KEPT:
                self._narrowed.popitem(last=False)
        return made


def _entries(
    headlines: Sequence[Headline],
    rows: Sequence[int] | None,
    topic: Topic,
    stories: Sequence[int] | None = None,
) -> tuple[Indexed, ...]:
    """The headlines that belong to the topic, normalised once (the query runs on these only);
    `rows` are their store row ids and `stories` their story ids, when read with them."""
    belongs = topic_filter(topic)
    zeros = [0] * len(headlines)
    numbered = zip(headlines, rows or zeros, stories or zeros, strict=True)
    kept = [(item, row, story) for item, row, story in numbered if belongs(item)]
    return index_headlines(
        # The topic's query has read the summaries; the page never shows them, and exports
        # read them back from the store (`Store.summaries`): a fifth of the memory at 100,000.
        (_without_summary(item) if item.summary else item for item, _, _ in kept),
        [row for _, row, _ in kept],
        [story for _, _, story in kept],
    )


def _without_summary(item: Headline) -> Headline:
    # What `replace(item, summary="")` gives, at a quarter of its cost.
    return Headline(
        item.title, item.link, item.publication, item.label, item.published, item.source,
        item.guid, item.time_kind,
    )  # fmt: skip


def _topical(topic: Topic) -> list[str]:
    """The topic's topical sources: the query never reads their summaries, nor does the page."""
    return [source.url for source in topic.sources if source.topical]


def _read_index(
    db_path: str, topic: Topic, version: int, since: datetime, own: bool = False
) -> TopicIndex:
    """The index read whole from the store. `own`: the topic holds a viewer's own feeds,
    read from their own scope (small: read again whenever the store changes, since a topic
    headline that arrives takes the place of a viewer's copy of it)."""
    found = store(db_path)
    if own:
        rows = found.viewer_headlines(since, [s.url for s in topic.sources])
        return TopicIndex.of(IndexedWindow.of(_entries(rows, None, topic), since), version)
    arrivals = found.headlines_after(None, since, without_summary=_topical(topic))
    entries = _entries(arrivals.headlines, arrivals.ids, topic, arrivals.stories)
    window = IndexedWindow.of(entries, since)
    return TopicIndex.of(window, arrivals.version, _Stories(partial(_from_stored, entries)))


# A grown grouping keeps the headlines that left the window (narrowing leaves them out); past
# this share of the window more, it is made again from the window.
MAX_LEFT_SHARE = 0.1


def _assigned(before: TopicIndex, window: IndexedWindow, added: Sequence[Indexed]) -> _Stories:
    """The stories of `before` grown into `window` by `added`, made on first use: `before`'s
    grouping with each new headline put in its stored story (`Grouping.grown`), or, when
    `before`'s was never made or holds too much that left the window, made from the
    stories stored with the window's headlines (a pass over them: no grouping either way)."""
    grouping = before._stories.made
    if grouping is None:
        return _Stories(partial(_from_stored, window.entries))
    fresh = [entry for entry in added if entry.headline.published >= window.since]
    fresh.sort(key=lambda e: (e.headline.published, e.row), reverse=True)  # as the store reads

    def grow() -> Grouping:
        if grouping.size > (1 + MAX_LEFT_SHARE) * len(window.entries) + 100:
            return _from_stored(window.entries)
        return grouping.grown([e.headline for e in fresh], [e.story for e in fresh])

    return _Stories(grow)


def _grown(index: TopicIndex, db_path: str, topic: Topic, since: datetime) -> TopicIndex:
    """`index` with the topic's headlines stored since it was read, from `since` on."""
    assert index.window is not None
    arrivals = store(db_path).headlines_after(index.version, since, without_summary=_topical(topic))
    if arrivals.version < index.version:  # another file at this path now: read it whole
        return _read_index(db_path, topic, arrivals.version, since)
    added = _entries(arrivals.headlines, arrivals.ids, topic, arrivals.stories)
    window = index.window.moved(since).grown(added)
    if not added:  # another scope's headlines, or off the topic: same stories
        return _moved(index, since, arrivals.version)
    return TopicIndex.of(window, arrivals.version, _assigned(index, window, added))


def _moved(index: TopicIndex, since: datetime, version: int | None = None) -> TopicIndex:
    """`index` from `since` on (the same index while nothing left it, unless `version` is
    new). It keeps its stories: they narrow to what is left."""
    assert index.window is not None
    window = index.window.moved(since)
    if window.entries is index.window.entries and version in (None, index.version):
        return index
    return TopicIndex.of(window, index.version if version is None else version, index._stories)


class _Latest:
    """The newest index of one topic in one store. It grows by what a store change (every
    refresh that stores something) brought and drops what leaves the window as time goes
    on, instead of reading the window again; each change makes a new index and replaces
    the held one, so older indexes are freed instead of piling up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: TopicIndex | None = None

    def get(
        self, db_path: str, topic: Topic, version: int, since: datetime, own: bool = False
    ) -> TopicIndex:
        # Viewers arriving while it grows wait for it rather than grow it again; a page run
        # that has an index keeps reading it, whatever replaces it here meanwhile.
        with self._lock:
            index = self._index
            if index is None or index.window is None or since < index.since:
                # A window start moved back (a clock set back) needs what was never held.
                index = _read_index(db_path, topic, version, since, own)
            elif own and version != index.version:
                index = _read_index(db_path, topic, version, since, own)
            elif version > index.version:
                index = _grown(index, db_path, topic, since)
            elif since > index.since:
                index = _moved(index, since)
            self._index = index
            return index

    @property
    def last(self) -> TopicIndex | None:
        """The index built last, if any (what the page read before the store failed)."""
        return self._index


@st.cache_resource(max_entries=16, show_spinner=False)
def _latest_index(db_path: str, topic: Topic) -> _Latest:
    return _Latest()


# Viewers' own feeds: one small index per distinct set of feeds, the least recently used
# dropped past this many (each holds only those feeds' headlines, never the topic's).
MAX_OWN_INDEXES = 64


@st.cache_resource(max_entries=MAX_OWN_INDEXES, show_spinner=False)
def _latest_own_index(db_path: str, feeds: Topic) -> _Latest:
    return _Latest()


def topic_index(db_path: str, topic: Topic, now: datetime) -> TopicIndex:
    """The topic's headlines in the 7-day window before `now`.

    Raises StoreError when the store cannot be read; `last_index` then gives what this
    process read before, if anything.
    """
    since = now - WINDOW
    return _latest_index(db_path, topic).get(db_path, topic, store(db_path).version(), since)


def warm(config: Settings) -> None:
    """Make the default topic's index and stories before any viewer asks (server start:
    see ui/server.py), so the first viewer of a fresh server does not wait for the window
    to be read. Raises StoreError and ConfigError."""
    topic = topics(config)[0]
    index = topic_index(str(config.db_path), topic, clock_now(config))
    index.grouping()  # the keyword box's texts are left to the first keyword (≈ 0.5 s at
    # 100,000): made here they would slow the first viewer's run, which does not need them


def _merged_grouping(shared: TopicIndex, own: TopicIndex) -> Grouping:
    """Both indexes' groupings as one (each made once, in its own index): a story of the
    topic and one of the viewer's feeds stay apart even when they are the same."""
    first, second = shared.grouping(), own.grouping()
    stories = tuple(
        heapq.merge(first.stories, second.stories, key=lambda s: s.newest, reverse=True)
    )
    places = {
        id(item): (number, position)
        for number, story in enumerate(stories)
        for position, item in enumerate(story.headlines)
    }
    return Grouping(stories, places)


class _MergedIndex(TopicIndex):
    """The topic's shared index and a viewer's own feeds' index seen as one, for one run:
    it holds references to both, never a copy of the topic's headlines."""

    def __init__(self, shared: TopicIndex, own: TopicIndex) -> None:
        indexed = tuple(
            heapq.merge(
                shared.indexed, own.indexed, key=lambda e: e.headline.published, reverse=True
            )
        )
        counts = Counter(dict(shared.publications))
        counts.update(dict(own.publications))
        publications = ranked_publications(counts)
        # The older version of the two: a store that moved on since either was read reruns.
        version = min(shared.version, own.version)
        stories = _Stories(partial(_merged_grouping, shared, own))
        super().__init__(indexed, publications, version, shared.since, stories=stories)
        self._parts = (shared, own)


def page_index(
    db_path: str, topic: Topic, own_feeds: Sequence[Source], now: datetime
) -> TopicIndex:
    """The topic's headlines with those of a viewer's own feeds that match its query.

    The topic's index is the one every viewer shares; the own feeds get a small index of
    their own (kept per distinct set of feeds, at most `MAX_OWN_INDEXES`), merged with it
    for this run only.
    """
    shared = topic_index(db_path, topic, now)
    if not own_feeds:
        return shared
    feeds = replace(topic, sources=tuple(own_feeds))
    own = _latest_own_index(db_path, feeds).get(
        db_path, feeds, store(db_path).version(), now - WINDOW, own=True
    )
    return _MergedIndex(shared, own)


def last_index(db_path: str, topic: Topic) -> TopicIndex | None:
    """The topic's index `topic_index` gave last in this process, if any."""
    return _latest_index(db_path, topic).last
