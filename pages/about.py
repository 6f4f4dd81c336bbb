"""About the topic: its text, its sources, and how the page is made and refreshed."""

from __future__ import annotations

import streamlit as st

from lib.render import literal_markdown
from ui.consent import PRIVACY
from ui.page import setup

ctx = setup("About")
topic = ctx.topic
config = ctx.settings

st.title(literal_markdown(f"About our {topic.title}"))
st.text(topic.about)  # plain text: the about text is never read as Markdown

st.header("Sources")
rows = [
    {
        "Source": source.name,
        "Feed": source.url,
        "Kept": "every item" if source.topical else "items matching the topic",
        "Label": source.label or "",
    }
    for source in topic.sources
]
st.dataframe(
    rows,
    hide_index=True,
    column_config={"Feed": st.column_config.LinkColumn("Feed")},
    width="stretch",
)

st.header("How this page is made")
minutes = config.refresh_every / 60
st.markdown(
    f"""
- A refresher on the server reads the {len(topic.sources)} feeds above every {minutes:g}
  minutes, whether or not anyone is looking, with a {config.fetch_deadline:g}-second limit
  for each round. A feed that has not changed answers "not modified" and is not read again.
  Viewers never wait for a feed: the page shows what is stored, and when each feed was last
  fetched.
- Headlines are kept for 7 days in a small database, so the page fills up over the week even
  though each feed carries only its latest items. The same story from two feeds is stored once.
- Items from a feed about the topic are all kept; items from general world-news feeds are
  kept when their title or summary matches the topic's query:
  {literal_markdown(topic.query)}.
- **Refresh now** on the headlines page asks the refresher to read every feed at once (at
  most once every 30 seconds, whoever asks). A feed that fails keeps the headlines it gave
  before, and is tried less often until it answers again.
- Without a network the page shows a bundled snapshot and says so.
"""
)

st.header("Cookies and privacy")
st.markdown(PRIVACY)
