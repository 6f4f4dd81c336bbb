"""How fresh the page is, read from the store: when the topic's feeds were last fetched,
which fail and since when, "Refresh now" (a request to the refresher loops, never a fetch in
the viewer's run), and a line when no loop works the store at all; and an open page kept
current as headlines are stored, and as the store fails and comes back (`follow_store`)."""

from __future__ import annotations

from datetime import datetime, tzinfo

import streamlit as st

from lib.buckets import format_moment
from lib.config import Settings
from lib.errors import StoreError
from lib.model import Topic
from lib.refresh import RefreshReport
from lib.refresher import loop_missing, never_fetched
from lib.render import literal_markdown
from lib.store import FeedState, refresh_allowed
from ui import data
from ui.clock import real_now
from ui.server import refresher_fault
from ui.user_feeds import refresh_user_feeds

SHOWN_FAILURES = 4  # more than this are counted, not listed
ASKED = "Refresh asked: new headlines appear within a minute."
FIRST_TIME = "Fetching headlines for the first time… they appear here as they arrive."
NO_REFRESHER = (
    "No refresher is running: start `python -m lib refresh --serve`, or unset NEWS_REFRESH."
)
LIVE_EVERY = 30.0  # seconds between two looks at the store from an open page
FIRST_EVERY = 2.0  # the same while the store is new: its first headlines are on their way
FAULT_EVERY = 5.0  # the same while the store cannot be read: the page comes back by itself
UNREAD = -1  # the version of a page drawn without reading the store: any version moved


@st.cache_resource(show_spinner=False)
def _watched() -> dict[tuple[str, str], datetime]:
    """When this server first looked at each topic's refreshing (wall clock): how long a
    store never worked by any loop has gone without one."""
    return {}


def refresher_missing(config: Settings, topic: Topic) -> bool:
    """With NEWS_REFRESH=external, whether no refresher loop works the topic's store (see
    `lib.refresher.loop_missing`); never with the app's own loop. Raises StoreError."""
    if config.refresh != "external":
        return False  # this server runs its own loop, which says when it fails
    wall = real_now()
    since = _watched().setdefault((str(config.db_path), topic.slug), wall)
    urls = [source.url for source in topic.sources]
    state = data.store(str(config.db_path)).refresh_state(topic.slug, urls, wall)
    return loop_missing(config, state, since, wall)


def no_refresher_notice(where: st.delta_generator.DeltaGenerator) -> None:
    """The line that says no loop works the store, and what to do."""
    where.warning(NO_REFRESHER, icon=":material/sync_problem:")


def feed_states(config: Settings, topic: Topic) -> dict[str, FeedState]:
    """What the store remembers of each of the topic's feeds. Raises StoreError."""
    return data.store(str(config.db_path)).feed_states([s.url for s in topic.sources])


def _ask(config: Settings, topic: Topic) -> None:
    """ "Refresh now": a request in the store, which the refresher loops pick up."""
    urls = [source.url for source in topic.sources]
    data.store(str(config.db_path)).request_refresh(topic.slug, urls, real_now())


def freshness_line(
    status: st.delta_generator.DeltaGenerator,
    config: Settings,
    topic: Topic,
    states: dict[str, FeedState],
    zone: tzinfo,
    now: datetime,
    line: st.delta_generator.DeltaGenerator | None = None,
) -> None:
    """Which sources fail and since when (in `status`), and when the feeds were last
    fetched with a refresh button (on `line`, a horizontal container: the page's clock
    line, so it takes one line, not three). Raises StoreError."""
    line = line or status.container(horizontal=True, vertical_alignment="center")
    sources = topic.sources
    total = len(sources)
    failed = [s for s in sources if states[s.url].last_status == "failed"]
    if failed:
        listed = failed[:SHOWN_FAILURES]
        names = ", ".join(f"{s.name} ({states[s.url].last_error or 'failed'})" for s in listed)
        more = f" and {len(failed) - len(listed)} more" if len(failed) > len(listed) else ""
        status.warning(
            literal_markdown(
                f"{len(failed)} of {total} sources failed: {names}{more}. "
                "Their earlier headlines are still shown."
            ),
            icon=":material/warning:",
        )
        for source in listed:
            state = states[source.url]
            since = state.last_success
            stale = f"showing headlines from {format_moment(since, zone)}; " if since else ""
            wait = state.retry_at
            later = f"; next try {format_moment(wait, zone)}" if wait and wait > now else ""
            said = f"{source.name}: {stale}last attempt failed: {state.last_error}{later}"
            status.caption(literal_markdown(said))
        status.page_link("pages/sources.py", label="See Sources for details and what to do")
    noun = "source" if total == 1 else "sources"
    attempts = [state.last_attempt for state in states.values() if state.last_attempt]
    updated = f"Updated {format_moment(max(attempts), zone)}" if attempts else "Not fetched yet"
    line.caption(f"{updated} · {total} {noun}")
    wall = real_now()
    urls = [source.url for source in sources]
    refresh = data.store(str(config.db_path)).refresh_state(topic.slug, urls, wall)
    if refresh.fetching:
        status.caption(f"Refreshing: {refresh.fetching} of {total} {noun} being fetched now")
    if refresher_missing(config, topic):
        no_refresher_notice(status)
    elif refresh.waiting:
        status.caption(ASKED)
    line.button(
        "Refresh now",
        key="refresh",
        disabled=not refresh_allowed(refresh, wall),
        help="Ask for every source to be fetched again (at most once every 30 seconds, "
        "whoever asks).",
        on_click=_ask,
        args=(config, topic),
    )


def first_fetch_notice(config: Settings, topic: Topic, version: int) -> None:
    """An empty store: says the refresher is fetching (or that none runs), and reruns the
    page when the first headlines (or the first outcomes) are stored. Nothing is fetched in
    the viewer's run."""
    try:
        missing = refresher_missing(config, topic)
    except StoreError:
        missing = False  # the next look reruns the page, which says what failed
    if missing:
        no_refresher_notice(st)
    else:
        st.info(FIRST_TIME, icon=":material/hourglass_top:")
    follow_store(config, topic, version, first_time=True)


def follow_store(config: Settings, topic: Topic, version: int, *, first_time: bool = False) -> None:
    """Keep an open page current with no reload and no click: every `LIVE_EVERY` seconds
    (`FIRST_EVERY` while the store is new, its first headlines on their way; `FAULT_EVERY`
    while it cannot be read) a fragment compares the store's version with `version`, the
    one the page was drawn from (`UNREAD` when the page could not read the store), and
    reruns the whole page when it moved, when the store stops answering, or when a loop
    starts or stops working it (NEWS_REFRESH=external). A whole rerun keeps every widget's
    state (filters, the chart's selection, paging), so the page is drawn again as the
    viewer left it; an idle page costs one or two one-row queries per period. Draws
    nothing."""
    every = FAULT_EVERY if version == UNREAD else FIRST_EVERY if first_time else LIVE_EVERY
    try:
        missing = version != UNREAD and refresher_missing(config, topic)
    except StoreError:
        missing = False
    st.fragment(_look, run_every=every)(config, topic, version, first_time, missing)


def _look(config: Settings, topic: Topic, version: int, first_time: bool, missing: bool) -> None:
    try:
        # On a connection of its own: a store moved away or stopped is noticed.
        moved = data.store(str(config.db_path)).current_version() != version
        if first_time and not moved:  # the first outcomes: every feed failed, say so
            moved = not never_fetched(feed_states(config, topic).values())
        if not moved and version != UNREAD:  # a loop started or stopped: say so
            moved = refresher_missing(config, topic) != missing
    except StoreError:
        # Drawn from the store: drawn again, with what was read and a line saying why.
        # Drawn without it: look again next period.
        moved = version != UNREAD
    if moved:
        st.rerun(scope="app")


def status_lines(
    status: st.delta_generator.DeltaGenerator,
    config: Settings,
    topic: Topic,
    states: dict[str, FeedState],
    zone: tzinfo,
    now: datetime,
    version: int,
    line: st.delta_generator.DeltaGenerator | None = None,
) -> tuple[RefreshReport | None, bool]:
    """The status above the headlines of a live page, drawn last: the viewer's own feeds
    fetched (with their progress), a refresher that cannot store, and the freshness line.
    Returns the own feeds' report and whether the store moved past `version` meanwhile (the
    page then reruns). A store failing meanwhile is said, and the headlines stay."""
    try:
        report = refresh_user_feeds(config, status)
        fault = refresher_fault()  # this server's refresher cannot store what it fetches
        if fault is not None:
            status.error(str(fault), icon=":material/error:")
        freshness_line(status, config, topic, states, zone, now, line)
        return report, data.store(str(config.db_path)).version() != version
    except StoreError as exc:  # the headlines read before stay on screen
        status.error(str(exc), icon=":material/error:")
        return None, False
