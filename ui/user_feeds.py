"""Feeds a viewer adds for their own session: by URL or from an OPML file; OPML export.

A URL a viewer types is untrusted: only http/https, never to loopback, private, link-local
or metadata addresses (checked after DNS and on every redirect, see lib/netguard.py), and a
few per session. Their headlines are stored like any feed's, but only the sessions that
added the feed show them.
"""

from __future__ import annotations

import streamlit as st

from lib.config import Settings
from lib.errors import FetchError, ParseError
from lib.model import Source, Topic
from lib.netguard import check_url
from lib.opml import parse_opml, to_opml
from lib.refresh import RefreshReport
from lib.render import literal_markdown
from ui import data

MAX_USER_FEEDS = 5
_KEY = "user_feeds"


def user_feeds() -> list[Source]:
    """The feeds this session added."""
    return list(st.session_state.get(_KEY, []))


def _add(config: Settings, topic: Topic, url: str, name: str | None = None) -> str | None:
    """Add a feed after checking it; return a problem in words, or None."""
    url = url.strip()
    feeds = user_feeds()
    if len(feeds) >= MAX_USER_FEEDS:
        return f"At most {MAX_USER_FEEDS} feeds of your own: remove one first."
    if url in {s.url for s in feeds} or url in {s.url for s in topic.sources}:
        return "That feed is on the page already."
    try:
        check_url(url, config.allow_private_hosts)
    except FetchError as exc:
        return f"Not added: {exc.problem}."
    feeds.append(Source(name=name or url, url=url, topical=False, label=None))
    st.session_state[_KEY] = feeds
    return None


def _remove(url: str) -> None:
    st.session_state[_KEY] = [s for s in user_feeds() if s.url != url]


def refresh_user_feeds(
    config: Settings, status: st.delta_generator.DeltaGenerator
) -> RefreshReport | None:
    """Fetch this session's own feeds (cached like the topic's); None when it has none."""
    feeds = tuple(user_feeds())
    if not feeds:
        return None
    mine = Topic(slug="user-feeds", title="Your feeds", about="", query="x", timezone="UTC",
                 sources=feeds)  # fmt: skip
    return data.refresh(config, mine, status, untrusted=True)


def user_feeds_panel(
    config: Settings, topic: Topic, report: RefreshReport | None, *, enabled: bool = True
) -> None:
    """The sidebar panel: add a feed, import OPML, list and remove, export the sources."""
    feeds = user_feeds()
    with st.sidebar.expander(
        f"Your feeds ({len(feeds)} of {MAX_USER_FEEDS})", expanded=bool(feeds)
    ):
        st.caption(
            "Add a feed to see its headlines that match this topic beside the others, "
            "for you only, until you close the page."
        )
        if not enabled:
            st.caption("Offline: feeds cannot be added now.")
        with st.form("add-feed", clear_on_submit=True, border=False):
            url = st.text_input(
                "Feed address", placeholder="https://example.com/rss.xml", key="feed_url"
            )
            if st.form_submit_button("Add feed", disabled=not enabled) and url.strip():
                problem = _add(config, topic, url)
                if problem:
                    st.error(literal_markdown(problem))
                else:
                    st.rerun()
        upload = st.file_uploader(
            "Import an OPML file", type=["opml", "xml"], key="opml", disabled=not enabled
        )
        if upload is not None and st.session_state.get("opml_done") != upload.file_id:
            st.session_state["opml_done"] = upload.file_id
            try:
                outlines = parse_opml(upload.getvalue())
            except ParseError as exc:
                st.error(literal_markdown(f"Not imported: {exc.problem}."))
            else:
                problems = [
                    p for title, href in outlines if (p := _add(config, topic, href, title))
                ]
                added = len(outlines) - len(problems)
                st.caption(f"Imported {added} of {len(outlines)} feeds.")
                for problem in dict.fromkeys(problems):
                    st.caption(literal_markdown(problem))
        states = {r.source.url: r for r in report.sources} if report else {}
        for feed in feeds:
            left, right = st.columns([5, 1], vertical_alignment="center")
            outcome = states.get(feed.url)
            status = "" if outcome is None else (" — ok" if outcome.ok else f" — {outcome.error}")
            left.caption(literal_markdown(f"{feed.name}{status}"))
            right.button("✕", key=f"remove-{feed.url}", on_click=_remove, args=(feed.url,),
                         help="Remove this feed")  # fmt: skip
        everything = [(s.name, s.url) for s in (*topic.sources, *feeds)]
        st.download_button(
            "Export sources as OPML",
            to_opml(topic.title, everything),
            file_name=f"{topic.slug}-sources.opml",
            mime="text/x-opml",
            on_click="ignore",
        )
