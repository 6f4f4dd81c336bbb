"""The topic's headlines: clock, freshness, density chart, buckets, paging.

A list of what is drawn, top to bottom; what decides it lives in ui/ (fallback.py: what is
read and the offline fallback; links.py: the URL; explore.py: chart, paging, stories;
visits.py: what is marked new; freshness.py: the status lines and live updates).

What a filter changes (the sidebar's filters, the chips, the chart, the list, its
downloads) is one fragment, `view`: a keyword, a publication filter or a range picked on
the chart reruns only that, and the browser redraws only that (see `view`)."""

from __future__ import annotations

import streamlit as st

from lib.density import headlines_in
from lib.render import literal_markdown
from lib.selection import filter_headlines
from ui import data, explore
from ui.chips import active_chips, chips_line, rerun_page_if_asked
from ui.clock import clock_line
from ui.clock import now as clock_now
from ui.fallback import PageSource, offline_notice, read_page
from ui.freshness import first_fetch_notice, follow_store, status_lines
from ui.links import (
    mirror_headlines_view,
    seed_headlines_link,
    settle_topic_switch,
    show_notices,
    show_switch_note,
)
from ui.page import HEADLINES, PageContext, setup
from ui.sidebar import Display, chosen_display, display_options, sidebar_filters
from ui.user_feeds import user_feeds, user_feeds_panel
from ui.visits import arrived_while_open, mark_new

EMPTY = "Sorry, no headlines or news topics were found. Please try different keywords."


@st.fragment
def view(
    source: PageSource,
    ctx: PageContext,
    display: Display,
    arrived: frozenset[str],
    own_urls: list[str],
) -> None:
    """The view a filter changes: the sidebar's filters, the active-filter chips, the chart,
    the list and its downloads.

    A fragment: typing a keyword, changing the publication filter or picking a range on the
    chart reruns only this, with the arguments of the page's last full run (its index and
    `now`), so the clock, the status lines, your feeds and the other widgets are neither
    recomputed nor sent to the browser again. A change of topic, zone or grouping reruns the
    whole page (the clock and status lines show times too; ui/chips.py).
    """
    rerun_page_if_asked()  # a chip removed the zone or the grouping (ui/chips.py)
    index, now, zone = source.index, source.now, display.zone
    filters = sidebar_filters(index.publications, display)
    shown = filter_headlines(index.indexed, filters.keyword, filters.include, filters.exclude)

    chips = st.container()  # the active filters, above the chart; known once it is drawn
    chosen = explore.density_chart(shown, now, zone)
    listed = headlines_in(shown, *chosen, now) if chosen else shown
    with chips:
        chips_line(active_chips(filters, chosen, zone, len(listed)))
    link = mirror_headlines_view(ctx.topic.slug, ctx.topics[0].slug, chosen)
    addresses = explore.feed_addresses(explore.app_address(ctx.settings.public_url), link)
    explore.alternate_links(addresses, ctx.topic.title)

    explore.publication_pills(listed)
    if not listed:
        st.markdown(EMPTY)
        explore.subscribe(st.columns([5, 1.3])[1], addresses)  # future matches still arrive
        return
    # What chose `listed` from the index: the filters, the range, whether it reaches past now.
    chose = (filters.signature, chosen, bool(chosen and chosen[1] > now))
    entries = explore.stories(index if filters.grouped else None, chose, listed)
    since = mark_new(entries, now, zone, arrived, visits=not source.offline_reason)
    paging = (*filters.signature, chosen, filters.grouped)  # paging starts again when it changes
    buckets = explore.by_bucket(entries, now, zone)
    explore.headline_list(buckets, zone, filters.keyword, since, arrived, paging)
    explore.downloads(
        listed,
        ctx.topic,
        now,
        lambda guids: data.store(source.db_path).summaries(guids, own_urls),
        addresses,
    )


ctx = setup(HEADLINES)
config = ctx.settings
st.title(literal_markdown(ctx.topic.title))
# The clock, when the feeds were last fetched and "Refresh now": one line (ui/freshness.py).
clock_row = st.container(horizontal=True, vertical_alignment="center", key="np-clock")
clock = clock_row.empty()
status = st.container()  # failing sources, above the headlines

# The topic's feeds are fetched by the refresher loop, never in this run: the page shows
# what is stored (with the viewer's own feeds, fetched at the end), or its fallback.
own_feeds = user_feeds()
source = read_page(config, ctx.topic, own_feeds, clock_now(config))
index, now = source.index, source.now

names = [n for n, _ in index.publications]
switched = settle_topic_switch(names)  # before the sidebar: it drops the old topic's filters
notices = [*ctx.notices, *seed_headlines_link(ctx.link, names, restore=ctx.restore)]
display = chosen_display(source.topic.timezone)  # its widgets are drawn below the filters
zone = display.zone
# The chart's range from the link, in `zone` (Back or Forward: the entry's, or none).
notices += explore.range_from_link(ctx.link, now, zone, restore=ctx.restore)
clock.markdown(clock_line(now, zone, snapshot=bool(source.offline_reason and source.has_snapshot)))
offline_notice(source, zone)
if display.zone_note:
    st.caption(literal_markdown(display.zone_note))
show_notices(notices)
show_switch_note(switched)
if source.first_time:
    first_fetch_notice(config, ctx.topic, index.version)
    st.stop()

arrived = (  # marked new, like what was published since the last visit
    arrived_while_open(
        ctx.topic.slug, index.version, data.stored_after(source.db_path, source.topic, now)
    )
    if source.live
    else frozenset()
)
view(source, ctx, display, arrived, [feed.url for feed in own_feeds])
display_options(source.topic.timezone)

report, moved = None, False
if source.live:
    report, moved = status_lines(
        status, config, source.topic, source.states, zone, now, index.version, clock_row
    )
user_feeds_panel(config, ctx.topic, report, enabled=not source.offline_reason)
if moved:
    st.rerun()  # new headlines arrived after the ones on screen were read
if source.follow_version is not None:  # not NEWS_OFFLINE: recovers, fills by itself
    follow_store(config, ctx.topic, source.follow_version)
