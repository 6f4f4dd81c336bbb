"""Feeds a viewer adds for their own session: by URL or from an OPML file; OPML export.

A URL a viewer types is untrusted: only http/https, never to loopback, private, link-local
or metadata addresses (checked after DNS and on every redirect, see lib/netguard.py), and a
few per session. Their headlines are stored like any feed's, but only the sessions that
added the feed show them. An OPML file is read only up to 1 MB and 1,000 feeds, and what
its import did is said in one line.
"""

from __future__ import annotations

import streamlit as st

from lib.config import Settings
from lib.errors import FetchError, ParseError
from lib.model import Source, Topic
from lib.netguard import check_url
from lib.opml import MAX_OPML_BYTES, check_size, parse_opml, to_opml
from lib.refresh import RefreshReport
from lib.render import literal_markdown
from ui import data

MAX_USER_FEEDS = 5
# An OPML import reads at most this many feeds of a file, and checks addresses (a DNS lookup
# each) only until this many are refused; the rest are counted in its one-line summary.
MAX_OPML_FEEDS = 1000
MAX_OPML_REFUSALS = 10
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


def _import(config: Settings, topic: Topic, document: bytes) -> str:
    """Add the feeds an OPML file lists, as far as the limits allow; one line saying what
    happened. Raises ParseError when the file is not OPML."""
    outlines = parse_opml(document, limit=MAX_OPML_FEEDS + 1)
    more = len(outlines) > MAX_OPML_FEEDS
    outlines = outlines[:MAX_OPML_FEEDS]
    feeds = user_feeds()
    on_page = {s.url for s in (*topic.sources, *feeds)}
    duplicates = over = untried = 0
    refusals: list[str] = []
    for title, href in outlines:
        url = href.strip()
        if url in on_page:
            duplicates += 1
        elif len(feeds) >= MAX_USER_FEEDS:
            over += 1
        elif len(refusals) >= MAX_OPML_REFUSALS:
            untried += 1
        else:
            try:
                check_url(url, config.allow_private_hosts)
            except FetchError as exc:
                refusals.append(exc.problem)
                continue
            feeds.append(Source(name=title, url=url, topical=False, label=None))
            on_page.add(url)
    added = len(feeds) - len(user_feeds())
    st.session_state[_KEY] = feeds
    of = f"the first {MAX_OPML_FEEDS:,}" if more else f"{len(outlines)}"
    parts = [
        f"{len(refusals)} refused (the first: {refusals[0]})" if refusals else "",
        f"{duplicates} already on the page" if duplicates else "",
        f"{over} over the limit of {MAX_USER_FEEDS} per session" if over else "",
        f"{untried} not tried after {MAX_OPML_REFUSALS} refusals" if untried else "",
    ]
    reasons = ", ".join(part for part in parts if part)
    return f"Added {added} of {of} feeds{': ' + reasons if reasons else ''}."


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
            "Import an OPML file",
            type=["opml", "xml"],
            key="opml",
            disabled=not enabled,
            max_upload_size=max(1, MAX_OPML_BYTES // 1_000_000),  # the browser's own check
        )
        if upload is not None and st.session_state.get("opml_done") != upload.file_id:
            st.session_state["opml_done"] = upload.file_id
            try:
                check_size(upload.size)  # before the bytes are read: the server's check
                st.caption(literal_markdown(_import(config, topic, upload.getvalue())))
            except ParseError as exc:
                st.error(literal_markdown(f"Not imported: {exc.problem}."))
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
