"""Sources: one row per feed of the topic, with its health and what to do about it."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import streamlit as st

from lib.buckets import format_moment
from lib.diagnosis import is_failing, source_health
from lib.errors import StoreError
from lib.render import literal_markdown, sources_html
from ui import data
from ui.clock import now as clock_now
from ui.page import setup
from ui.sidebar import chosen_zone
from ui.user_feeds import user_feeds

FAILING_WORDS = ("Source", "Last error", "What to do")  # a failing feed's line, in order

ctx = setup("Sources")
config, topic = ctx.settings, ctx.topic
now = clock_now(config)
zone, _ = chosen_zone(topic.timezone)
db_path = str(config.db_path)

st.title("Sources")
st.caption(
    literal_markdown(
        f"The {len(topic.sources)} feeds of {topic.title}, as of their last refresh. "
        "Failing feeds first. A failing feed keeps the headlines it gave before."
    )
)
mine = [replace(feed, name=f"{feed.name} (yours)") for feed in user_feeds()]
shown = replace(topic, sources=(*topic.sources, *mine))
own = [feed.url for feed in mine]
try:
    states = data.store(db_path).feed_states([source.url for source in shown.sources], own)
    index = data.page_index(db_path, topic, user_feeds(), now)
except StoreError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
kept = Counter(item.source for item in index.headlines)
rows = source_health(shown.sources, states, kept, now, lambda moment: format_moment(moment, zone))
# What needs doing first: failing feeds, then the others, each in the topic's order.
down = {source.url: is_failing(states[source.url]) for source in shown.sources}
rows.sort(key=lambda row: not down.get(str(row["Feed"]), False))
failing = sum(down.values())
if config.offline:
    st.info("Offline (NEWS_OFFLINE is set): no feed is fetched; the page shows the snapshot.")
unfetched = sum(1 for source in shown.sources if states[source.url].last_status is None)
if unfetched and not config.offline:
    st.caption(
        f"{unfetched} of {len(rows)} feeds are not fetched yet: the refresher fetches every "
        f"feed every {config.refresh_every / 60:g} minutes, new ones within seconds "
        "(or `python -m lib refresh`, when the refresher runs elsewhere)."
    )
if failing:  # what to do, in words that wrap (a table cell cuts a long text)
    st.warning(f"{failing} of {len(rows)} sources are failing:", icon=":material/warning:")
    for row in rows[:failing]:
        name, error, advice = (literal_markdown(str(row[k])) for k in FAILING_WORDS)
        st.markdown(f"- **{name}** ({error}): {advice}")
table = st.container(key="np-sources-table")  # on a phone, cards instead (ui/page.css)
table.dataframe(
    rows,
    hide_index=True,
    width="stretch",
    height="content",  # every row at once: no scrolling inside the table
    # What is wrong and what to do first; the figures after; the address last.
    column_order=[
        "Source",
        "Status",
        "HTTP",
        "What to do",
        "Last success",
        "Last error",
        "Response ms",
        "Items in feed",
        "Kept for topic",
        "Feed",
    ],
    # Source, Status, HTTP and What to do within 1280 px; the figures scroll into view.
    column_config={
        "Source": st.column_config.TextColumn("Source", width=170),
        "Status": st.column_config.TextColumn("Status", width=230),
        "What to do": st.column_config.TextColumn("What to do", width=420),
        "Feed": st.column_config.LinkColumn("Feed", help="The feed's address"),
        "HTTP": st.column_config.NumberColumn("HTTP", format="%d", width=60),
        "Last error": st.column_config.TextColumn("Last error", width="medium"),
    },
    alt=f"The {len(rows)} feeds of {topic.title}, failing ones first, and their state.",
    key="sources",
)
# On a phone the table gives way to one card a source (ui/page.css).
st.html(sources_html(rows))
