"""Feeds a viewer adds for their browser: by URL or from an OPML file; OPML export.

A URL a viewer types is untrusted: only http/https, never to loopback, private, link-local
or metadata addresses (checked after DNS and on every redirect, see lib/netguard.py), and a
few per browser. The list is kept in the store under the browser's id (the consent
cookie's, ui/consent.py), so it survives a reload and any server process; their headlines
are stored like any feed's, but only the browsers that added the feed show them. An OPML
file is read only up to 1 MB and 1,000 feeds, and what its import did is said in one line.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import streamlit as st

from lib.config import Settings
from lib.errors import FetchError, ParseError, StoreError
from lib.model import Source, Topic
from lib.netguard import check_url
from lib.opml import MAX_OPML_BYTES, check_size, parse_opml, to_opml
from lib.refresh import RefreshReport
from lib.render import literal_markdown
from lib.store import ViewerFeed
from ui import data
from ui.clock import real_now
from ui.consent import browser_id, remember_browser

MAX_USER_FEEDS = 5
# An OPML import reads at most this many feeds of a file, and checks addresses (a DNS lookup
# each) only until this many are refused; the rest are counted in its one-line summary.
MAX_OPML_FEEDS = 1000
MAX_OPML_REFUSALS = 10
_KEY = "user_feeds"
_NAMED = "user_feeds_named"  # url: the name an OPML file gave it


def shown_name(feed: ViewerFeed) -> str:
    """How a viewer's feed is listed: the name its OPML file gave it, else the feed's own
    title once fetched, else its address's host (never the whole address)."""
    return feed.name or feed.title or urlsplit(feed.url).hostname or feed.url


def _load() -> list[Source]:
    """The browser's feeds as the store keeps them (none when the store cannot be read:
    the page goes on with the topic's feeds)."""
    try:
        kept = data.store(str(data.settings().db_path)).viewer_feeds(browser_id(), real_now())
    except StoreError:
        return []
    st.session_state[_NAMED] = {f.url: f.name for f in kept if f.name}
    return [Source(name=shown_name(f), url=f.url, topical=False, label=None) for f in kept]


def user_feeds() -> list[Source]:
    """The feeds this browser added: read from the store once per session (and again after
    each change), so a reload or another server process shows them too."""
    if _KEY not in st.session_state:
        st.session_state[_KEY] = _load()
    return list(st.session_state[_KEY])


def _keep(feeds: list[tuple[str, str | None]]) -> int:
    """Keep `feeds` (url, name) for this browser in the store; how many were kept."""
    remember_browser()  # the id goes into the consent cookie, for the next visit
    store = data.store(str(data.settings().db_path))
    added = store.add_viewer_feeds(browser_id(), feeds, real_now(), MAX_USER_FEEDS)
    st.session_state[_KEY] = _load()
    return added


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
    try:
        if not _keep([(url, name)]):
            return f"At most {MAX_USER_FEEDS} feeds of your own: remove one first."
    except StoreError as exc:
        return f"Not added: {exc}"
    return None


def _import(config: Settings, topic: Topic, document: bytes) -> str:
    """Add the feeds an OPML file lists, as far as the limits allow; one line saying what
    happened. Raises ParseError when the file is not OPML."""
    outlines = parse_opml(document, limit=MAX_OPML_FEEDS + 1)
    more = len(outlines) > MAX_OPML_FEEDS
    outlines = outlines[:MAX_OPML_FEEDS]
    feeds = user_feeds()
    had = len(feeds)
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
    added = _keep([(s.url, s.name or None) for s in feeds[had:]]) if len(feeds) > had else 0
    of = f"the first {MAX_OPML_FEEDS:,}" if more else f"{len(outlines)}"
    parts = [
        f"{len(refusals)} refused (the first: {refusals[0]})" if refusals else "",
        f"{duplicates} already on the page" if duplicates else "",
        f"{over} over the limit of {MAX_USER_FEEDS} per browser" if over else "",
        f"{untried} not tried after {MAX_OPML_REFUSALS} refusals" if untried else "",
    ]
    reasons = ", ".join(part for part in parts if part)
    return f"Added {added} of {of} feeds{': ' + reasons if reasons else ''}."


def _remove(url: str) -> None:
    data.store(str(data.settings().db_path)).remove_viewer_feed(browser_id(), url)
    st.session_state[_KEY] = _load()


def refresh_user_feeds(
    config: Settings, status: st.delta_generator.DeltaGenerator
) -> RefreshReport | None:
    """Fetch this session's own feeds (cached like the topic's); None when it has none."""
    named = st.session_state.get(_NAMED, {})
    # Fetched under the name an OPML file gave, else none: the feed's own title then names
    # its headlines' publication (lib/parse/feed.py), not the address's host shown meanwhile.
    feeds = tuple(replace(feed, name=named.get(feed.url, "")) for feed in user_feeds())
    if not feeds:
        return None
    mine = Topic(slug="user-feeds", title="Your feeds", about="", query="x", timezone="UTC",
                 sources=feeds)  # fmt: skip
    report = data.refresh(config, mine, status, untrusted=True)
    st.session_state.pop(_KEY, None)  # read again: a feed fetched now is listed by its title
    return report


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
            "for you only, in this browser (kept when you come back)."
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
                st.session_state["opml_said"] = _import(config, topic, upload.getvalue())
                st.rerun()  # the panel lists the imported feeds at once (its count too)
            except ParseError as exc:
                st.error(literal_markdown(f"Not imported: {exc.problem}."))
            except StoreError as exc:
                st.error(literal_markdown(f"Not imported: {exc}"))
        said = st.session_state.pop("opml_said", None)
        if said:
            st.caption(literal_markdown(said))
        states = {r.source.url: r for r in report.sources} if report else {}
        for feed in feeds:
            left, right = st.columns([4, 1], vertical_alignment="center", gap="small")
            outcome = states.get(feed.url)
            status = "" if outcome is None else (" — ok" if outcome.ok else f" — {outcome.error}")
            left.caption(literal_markdown(f"{feed.name}{status}"), help=feed.url)
            right.button(
                "",
                icon=":material/delete:",
                key=f"remove-{feed.url}",
                on_click=_remove,
                args=(feed.url,),
                help=literal_markdown(f"Remove {feed.name}"),
                type="tertiary",
            )
        everything = [(s.name, s.url) for s in (*topic.sources, *feeds)]
        st.download_button(
            "Export sources as OPML",
            to_opml(topic.title, everything),
            file_name=f"{topic.slug}-sources.opml",
            mime="text/x-opml",
            on_click="ignore",
        )
