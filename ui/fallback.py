"""What the Headlines page reads, and what it falls back to: the store's index when it can
be read; what this server read before when the store fails, with a line saying since when;
the bundled snapshot when the page is offline (NEWS_OFFLINE, no source reachable, or the
store failing with nothing read before), with a notice saying which. Unless NEWS_OFFLINE is
set, the page goes on following the store (`ui.freshness.follow_store`): it comes back by
itself when the store does, and shows what a refresher stores once sources answer again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo

import streamlit as st

from lib.buckets import format_moment
from lib.config import Settings
from lib.errors import ConfigError, StoreError
from lib.model import Source, Topic
from lib.refresher import never_fetched, unreachable
from lib.render import literal_markdown
from lib.store import FeedState
from ui import data
from ui.clock import real_now
from ui.freshness import UNREAD, feed_states


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
    fault_since: datetime | None = None  # this server's first failed read, in a row
    # The store's version the page follows from (`UNREAD`: the store failed; None: it is
    # not followed, NEWS_OFFLINE).
    follow_version: int | None = None
    snapshot_problem: str | None = None  # why the bundled snapshot cannot be shown

    @property
    def live(self) -> bool:
        """The store is read and answers: what arrives in it reaches the page."""
        return not self.offline_reason and not self.store_fault


@st.cache_resource(show_spinner=False)
def _failing() -> dict[str, datetime]:
    """Per store, when this server's reads of it began failing (wall clock), while they do."""
    return {}


def read_page(
    config: Settings, topic: Topic, own_feeds: Sequence[Source], now: datetime
) -> PageSource:
    """The topic's index (with the viewer's own feeds), or the fallback. Never raises
    StoreError: a store fault is said by `offline_notice`."""
    db_path = str(config.db_path)
    if config.offline:
        return _offline(config, topic, now, "NEWS_OFFLINE is set")
    try:
        index = data.page_index(db_path, topic, own_feeds, now)
        states = feed_states(config, topic)
    except StoreError as exc:  # keep what this server read before, else the snapshot
        since = _failing().setdefault(db_path, real_now())
        held = data.last_index(db_path, topic)
        if held is None or not held.indexed:
            shown = _offline(config, topic, now, "the headline store cannot be used", exc)
            return replace(shown, fault_since=since, follow_version=UNREAD)
        return PageSource(
            topic, held, now, db_path, store_fault=exc, fault_since=since, follow_version=UNREAD
        )
    _failing().pop(db_path, None)
    if not index.indexed and unreachable(states.values()):
        # Followed like a live page: what a refresher stores once a source answers appears.
        shown = _offline(config, topic, now, "no source could be reached")
        return replace(shown, follow_version=index.version)
    first_time = not index.indexed and never_fetched(states.values())
    return PageSource(
        topic, index, now, db_path, first_time=first_time, states=states,
        follow_version=index.version,
    )  # fmt: skip


def _offline(
    config: Settings, topic: Topic, now: datetime, reason: str, fault: StoreError | None = None
) -> PageSource:
    """The snapshot when it has this topic; else what is stored (or nothing, when the store
    is what failed)."""
    try:
        shot, shot_db = data.snapshot(str(config.snapshot_dir))
    except ConfigError as exc:  # a broken or missing snapshot folder: what is stored, and why
        db_path = str(config.db_path)
        index = (
            data.topic_index(db_path, topic, now)
            if fault is None
            else data.TopicIndex((), (), 0, now)
        )
        return PageSource(topic, index, now, db_path, reason, fault, snapshot_problem=str(exc))
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


def fault_note(source: PageSource, zone: tzinfo) -> str:
    """The line for a store this server cannot read: since when, what is shown, what to do."""
    fault, since = source.store_fault, source.fault_since
    assert fault is not None and since is not None
    shown = (
        "the bundled snapshot"
        if source.has_snapshot
        else "what was read before"
        if source.index.indexed
        else "nothing"
    )
    return (
        f"Store unreachable since {since.astimezone(zone):%H:%M} — showing {shown}; "
        f"{fault.step} (the headline store {fault.path} {fault.problem})."
    )


def offline_notice(source: PageSource, zone: tzinfo) -> None:
    """Why the page is offline or cannot read the store, and what it shows instead (nothing
    when it is live)."""
    if source.store_fault is not None:
        st.warning(literal_markdown(fault_note(source, zone)), icon=":material/cloud_off:")
    reason = source.offline_reason
    if source.snapshot_problem:
        st.warning(
            literal_markdown(
                f"The bundled snapshot cannot be used: {source.snapshot_problem}. Point "
                "NEWS_SNAPSHOT at a snapshot folder (the app ships data/snapshot)."
            ),
            icon=":material/cloud_off:",
        )
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
