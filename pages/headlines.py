"""The topic's headlines: clock, freshness, buckets, paging, density chart."""

from __future__ import annotations

import streamlit as st

from lib.buckets import format_clock, format_moment
from lib.density import density, headlines_in
from lib.errors import StoreError
from lib.refresher import never_fetched, unreachable
from lib.render import buckets_html, literal_markdown
from lib.selection import filter_headlines, first_page, group_by_bucket
from lib.store import WINDOW, FeedState
from ui import data, explore
from ui.chart import SELECTION_MODE, SPIKE_NOTE, density_spec
from ui.clock import now as clock_now
from ui.freshness import feed_states, first_fetch_notice, follow_store, freshness_line
from ui.links import (
    END,
    KEYWORD,
    PUB_MODE,
    PUBS,
    START,
    TOPIC,
    ZONE,
    seed_from_link,
    show_notices,
    write_link,
)
from ui.page import setup
from ui.server import refresher_fault
from ui.sidebar import PUB_MODES, ZONES, sidebar_filters
from ui.user_feeds import refresh_user_feeds, user_feeds, user_feeds_panel
from ui.visits import arrived_while_open, previous_visit

PAGE_SIZE = 50
EMPTY = "Sorry, no headlines or news topics were found. Please try different keywords."

ctx = setup("China-Russia news")
config, topic = ctx.settings, ctx.topic
now = clock_now(config)
db_path = str(config.db_path)

st.title(literal_markdown(topic.title))
clock_line = st.empty()
status = st.container()  # the freshness line and failure summary, above the headlines

offline_reason = "NEWS_OFFLINE is set" if config.offline else None
# The page shows the topic's feeds and the viewer's own (fetched separately, see the end).
# The topic's feeds are fetched by the refresher loop, never in this run: the page shows
# what is stored, and how fresh it is.
own_feeds = user_feeds()
own_urls = [feed.url for feed in own_feeds]
store_fault: StoreError | None = None
states: dict[str, FeedState] = {}
first_time = False
if not offline_reason:
    try:
        index = data.page_index(db_path, topic, own_feeds, now)
        states = feed_states(config, topic)
        if not index.indexed and unreachable(states.values()):
            offline_reason = "no source could be reached"
        elif not index.indexed and never_fetched(states.values()):
            first_time = True  # a new store: the refresher is on it
    except StoreError as exc:  # keep what this server read before, else the snapshot
        store_fault = exc
        status.error(str(exc), icon=":material/error:")
        held = data.last_index(db_path, topic)
        if held is None or not held.indexed:
            offline_reason = "the headline store cannot be used"
        else:
            index = held
has_snapshot = False
if offline_reason:
    shot, shot_db = data.snapshot(str(config.snapshot_dir))
    has_snapshot = shot.topic == topic.slug
    if has_snapshot:
        topic = data.snapshot_topic(topic, shot)
        now, db_path = shot.taken_at, shot_db
    if has_snapshot or not store_fault:
        index = data.topic_index(db_path, topic, now)
    else:  # nothing to show but the line about the store
        index = data.TopicIndex((), (), 0, now)

link_notices = [
    *ctx.notices,
    *seed_from_link(ctx.link, PUB_MODE, PUB_MODES, "Publication filter"),
    *seed_from_link(ctx.link, PUBS, [n for n, _ in index.publications], "Publication", many=True),
    *seed_from_link(ctx.link, ZONE, ZONES, "Time zone"),
    *seed_from_link(ctx.link, KEYWORD, None, "Keyword"),
]
filters = sidebar_filters(index.publications, topic.timezone)
zone = filters.zone
link_notices += explore.range_from_link(ctx.link, now, zone)  # the chart's window, in `zone`
abbreviation = now.astimezone(zone).tzname()
zone_name = zone.key if abbreviation == zone.key else f"{abbreviation} ({zone.key})"
clock_line.markdown(f"**{format_clock(now, zone)}** · {literal_markdown(zone_name)}")
if offline_reason and has_snapshot:
    back = "the store can be used again" if store_fault else "the sources can be reached"
    st.info(
        f"Offline ({offline_reason}): showing the bundled snapshot taken "
        f"{format_moment(now, zone)}. Live headlines return when {back}.",
        icon=":material/cloud_off:",
    )
elif offline_reason and not store_fault:
    st.info(
        f"Offline ({offline_reason}), and this topic has no bundled snapshot: showing what "
        "is stored. Live headlines return when the sources can be reached.",
        icon=":material/cloud_off:",
    )
if filters.zone_note:
    st.caption(literal_markdown(filters.zone_note))
show_notices(link_notices)
if first_time:
    first_fetch_notice(config, ctx.topic, index.version)
    st.stop()

shown = filter_headlines(index.indexed, filters.keyword, filters.include, filters.exclude)

st.subheader("Headline Density")
slots = density(shown, now, zone, WINDOW)  # the chart shows the whole filter
event = st.vega_lite_chart(
    density_spec(slots, zone),
    width="stretch",
    key=explore.chart_key(),
    on_select="rerun",
    selection_mode=SELECTION_MODE,
)
spiked = any(slot.is_spike for slot in slots)
st.caption(
    f"{SPIKE_NOTE + ' ' if spiked else ''}Click a bar or drag across bars to list only that time."
)
chosen = explore.chosen_range(event, zone)
listed = headlines_in(shown, *chosen, now) if chosen else shown
if chosen:
    explore.range_chip(chosen, zone, len(listed))
write_link(
    {
        TOPIC: ctx.topic.slug,
        KEYWORD: st.session_state.get(KEYWORD),
        PUB_MODE: st.session_state.get(PUB_MODE),
        PUBS: st.session_state.get(PUBS),
        ZONE: st.session_state.get(ZONE),
        START: chosen[0].strftime("%Y-%m-%dT%H:%M:%SZ") if chosen else None,
        END: chosen[1].strftime("%Y-%m-%dT%H:%M:%SZ") if chosen else None,
    },
    {TOPIC: ctx.topics[0].slug, PUB_MODE: PUB_MODES[0], ZONE: ZONES[0]},
)

signature = (*filters.signature, chosen, filters.grouped)
if st.session_state.get("page_filters") != signature:
    st.session_state["page_filters"] = signature
    st.session_state["page_limit"] = PAGE_SIZE
limit = st.session_state.get("page_limit", PAGE_SIZE)

explore.publication_pills(listed)
if not listed:
    st.markdown(EMPTY)
else:
    grouping = index.grouping() if filters.grouped else None
    entries = explore.stories(grouping, listed)
    groups, hidden = first_page(group_by_bucket(entries, now, zone, lambda s: s.newest), limit)
    since = previous_visit(now) if not offline_reason else None
    fresh = sum(1 for entry in entries if since and entry.newest > since)
    arrived = (
        arrived_while_open(ctx.topic.slug, index.version, data.stored_after(db_path, now))
        if not offline_reason and not store_fault  # a store that failed is not read again
        else frozenset()
    )
    live = sum(
        1
        for entry in entries
        if not (since and entry.newest > since) and any(h.guid in arrived for h in entry.headlines)
    )
    notes = []
    if fresh:
        notes.append(f"{fresh} new since your last visit at {format_moment(since, zone)}")
    if live:
        notes.append(f"{live} arrived while this page was open")
    if notes:
        st.html(f'<div class="np-new-note">{", ".join(notes)}, marked in blue</div>')
    blocks = [(bucket.heading, items) for bucket, items in groups]
    st.html(
        buckets_html(blocks, zone, highlight=filters.keyword, new_since=since, new_guids=arrived)
    )
    explore.keep_stories_open()
    if hidden and st.button(f"view more headlines ({hidden} more)", key="more"):
        st.session_state["page_limit"] = limit + PAGE_SIZE
        st.rerun()
    explore.downloads(
        listed, ctx.topic, now, lambda guids: data.store(db_path).summaries(guids, own_urls)
    )


user_report = None
moved = False
if not offline_reason and not store_fault:
    try:
        user_report = refresh_user_feeds(config, status)
        fault = refresher_fault()  # this server's refresher cannot store what it fetches
        if fault is not None:
            status.error(str(fault), icon=":material/error:")
        freshness_line(status, config, topic, states, zone, now)
        moved = data.store(db_path).version() != index.version
    except StoreError as exc:  # the headlines read before stay on screen
        status.error(str(exc), icon=":material/error:")
user_feeds_panel(config, ctx.topic, user_report, enabled=not offline_reason)
if moved:
    st.rerun()  # new headlines arrived after the ones on screen were read
if not offline_reason:
    follow_store(config, ctx.topic, index.version)
