"""What the Headlines page reads, and what it falls back to: the store's index when it can
be read; what this server read before when the store fails; the bundled snapshot when the
page is offline (NEWS_OFFLINE, no source reachable, or the store failing with nothing read
before), with a notice saying which."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

import streamlit as st

from lib.buckets import format_moment
from lib.config import Settings
from lib.errors import StoreError
from lib.model import Source, Topic
from lib.refresher import never_fetched, unreachable
from lib.store import FeedState
from ui import data
from ui.freshness import feed_states


@dataclass(frozen=True, slots=True)
class PageSource:
    """Where the page's headlines come from, for this run."""

    topic: Topic  # as shown: the snapshot's sources when the snapshot is shown
    index: data.TopicIndex
    now: datetime  # the snapshot's time when it is shown
    db_path: str  # the snapshot's store when it is shown
    offline_reason: str | None = None  # in words, when the page is offline
    store_fault: StoreError | None = None  # the store failed in this run
    has_snapshot: bool = False  # the snapshot is shown
    first_time: bool = False  # a new store: the refresher is fetching its first headlines
    states: dict[str, FeedState] = field(default_factory=dict)  # the feeds, as stored

    @property
    def live(self) -> bool:
        """The store is read and answers: what arrives in it reaches the page."""
        return not self.offline_reason and not self.store_fault


def read_page(
    config: Settings,
    topic: Topic,
    own_feeds: Sequence[Source],
    now: datetime,
    status: st.delta_generator.DeltaGenerator,
) -> PageSource:
    """The topic's index (with the viewer's own feeds), or the fallback; a store fault is
    said in `status`. Never raises StoreError."""
    db_path = str(config.db_path)
    if config.offline:
        return _offline(config, topic, now, "NEWS_OFFLINE is set")
    try:
        index = data.page_index(db_path, topic, own_feeds, now)
        states = feed_states(config, topic)
    except StoreError as exc:  # keep what this server read before, else the snapshot
        status.error(str(exc), icon=":material/error:")
        held = data.last_index(db_path, topic)
        if held is None or not held.indexed:
            return _offline(config, topic, now, "the headline store cannot be used", exc)
        return PageSource(topic, held, now, db_path, store_fault=exc)
    if not index.indexed and unreachable(states.values()):
        return _offline(config, topic, now, "no source could be reached")
    first_time = not index.indexed and never_fetched(states.values())
    return PageSource(topic, index, now, db_path, first_time=first_time, states=states)


def _offline(
    config: Settings, topic: Topic, now: datetime, reason: str, fault: StoreError | None = None
) -> PageSource:
    """The snapshot when it has this topic; else what is stored (or nothing, when the store
    is what failed)."""
    shot, shot_db = data.snapshot(str(config.snapshot_dir))
    if shot.topic == topic.slug:
        shown = data.snapshot_topic(topic, shot)
        index = data.topic_index(shot_db, shown, shot.taken_at)
        return PageSource(shown, index, shot.taken_at, shot_db, reason, fault, has_snapshot=True)
    db_path = str(config.db_path)
    if fault is None:
        index = data.topic_index(db_path, topic, now)
    else:  # nothing to show but the line about the store
        index = data.TopicIndex((), (), 0, now)
    return PageSource(topic, index, now, db_path, reason, fault)


def offline_notice(source: PageSource, zone: tzinfo) -> None:
    """Why the page is offline and what it shows instead (nothing when it is not)."""
    reason = source.offline_reason
    if reason and source.has_snapshot:
        back = "the store can be used again" if source.store_fault else "the sources can be reached"
        st.info(
            f"Offline ({reason}): showing the bundled snapshot taken "
            f"{format_moment(source.now, zone)}. Live headlines return when {back}.",
            icon=":material/cloud_off:",
        )
    elif reason and not source.store_fault:
        st.info(
            f"Offline ({reason}), and this topic has no bundled snapshot: showing what "
            "is stored. Live headlines return when the sources can be reached.",
            icon=":material/cloud_off:",
        )
