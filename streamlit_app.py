"""Entry point: `streamlit run streamlit_app.py`.

The server, as an `st.App`: at server start, before any viewer, it starts this process's
refresher loop (unless NEWS_REFRESH=external or NEWS_OFFLINE=1) and stops it at shutdown;
it answers `/health` with JSON for a proxy's checks, and serves every view of the Headlines
page as a feed (`/feed.rss`, `/feed.json`), a topic's sources as OPML (`/sources.opml`) and
their state as JSON (`/sources.json`: see ui/feedroutes.py); every viewer runs
`navigation.py`.
"""

import streamlit as st
from starlette.routing import Route

from ui.feedroutes import ROUTES as FEED_ROUTES
from ui.server import health, lifespan

app = st.App("navigation.py", lifespan=lifespan, routes=[Route("/health", health), *FEED_ROUTES])
