"""Exploring the list: the density chart and its chosen range, paging, story grouping (and
opened stories kept open), downloads of the view and its feed addresses."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from urllib.parse import urlencode, urlsplit

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lib.buckets import Bucket as BucketName
from lib.density import Slot, density
from lib.export import to_csv, to_json, to_rss
from lib.feedview import FEED_ITEMS
from lib.model import Headline, Topic
from lib.query import Query
from lib.render import buckets_html, literal_markdown
from lib.selection import first_page, group_by_bucket, in_pages, publication_counts
from lib.stories import Story
from lib.times import WINDOW
from ui.chart import (
    SELECTION_MODE,
    SPIKE_NOTE,
    arrow_datasets,
    density_spec,
    selected_range,
    snap_to_slots,
)
from ui.data import TopicIndex
from ui.keys import PUB_MODE, PUBS
from ui.links import link_range
from ui.sidebar import ONLY

Range = tuple[datetime, datetime]
Bucket = tuple[BucketName, list[Story]]  # a bucket of the page and its stories


def range_from_link(
    link: dict[str, list[str]], now: datetime, zone: tzinfo, *, restore: bool = False
) -> list[str]:
    """On a session's first run, take the time range a link carries; notices for bad ones.
    `restore` (Back or Forward): the link's range, or none, replaces the chart's."""
    chosen, notices = link_range(link, now, zone)
    if restore and chosen != st.session_state.get("range"):
        reset_range()  # a new chart, without the selection drawn on the old one
    if chosen is not None or restore:
        st.session_state["range"] = chosen
    return notices


def chart_key() -> str:
    """The chart's widget key; a new key clears its selection (the chip's reset)."""
    return f"density-{st.session_state.get('chart_generation', 0)}"


def chosen_range(
    event: object, zone: tzinfo, slots: Sequence[Slot] = (), *, fresh: bool = False
) -> Range | None:
    """The range to list: a new click or brush on the chart (a drag widened to the edges of
    the `slots` it touches), else the one chosen before. A `fresh` chart (just drawn again,
    e.g. back from another page) has no selection of its own yet: its empty one does not
    clear the range chosen before."""
    picked = selected_range(event, zone)
    if picked is not None and slots:
        picked = snap_to_slots(picked, slots)
    if fresh:
        st.session_state["last_pick"] = picked
    if picked != st.session_state.get("last_pick"):
        st.session_state["last_pick"] = picked
        st.session_state["range"] = picked
    return st.session_state.get("range")


NO_MATCH = "No headline matches these filters, so there is nothing to chart."


def density_chart(shown: Sequence[Headline], now: datetime, zone: tzinfo) -> Range | None:
    """The density chart of `shown` over the window, and the range chosen on it (a click or
    a drag now, else the one chosen before or given by the link). No headline: one line,
    not empty axes."""
    st.header("Headline Density")
    slots = density(shown, now, zone, WINDOW)  # the chart shows the whole filter
    if not shown:
        st.caption(NO_MATCH)
        return st.session_state.get("range")
    fresh = chart_key() not in st.session_state  # first drawn, or back from another page
    # The range in force, shaded on the chart and returned: a pick made just now (the
    # chart's state from the browser, read before it is drawn: what the chart returns) or
    # the one kept from before or a link.
    in_force = chosen_range(st.session_state.get(chart_key()), zone, slots, fresh=fresh)
    # The spec is the same on every draw and the data goes as named Arrow datasets, so the
    # browser updates the drawn chart's data rather than embedding a new one (ui/chart.py).
    st.vega_lite_chart(
        arrow_datasets(density_spec(slots, zone, in_force)),
        width="stretch",
        key=chart_key(),
        on_select="rerun",
        selection_mode=SELECTION_MODE,
    )
    spiked = any(slot.is_spike for slot in slots)
    st.caption(
        f"{SPIKE_NOTE + ' ' if spiked else ''}Click a bar or drag across bars to list only "
        "that time."
    )
    return in_force


def reset_range() -> None:
    """Clear the range chosen on the chart (and the chart's own selection)."""
    st.session_state["range"] = None
    st.session_state["last_pick"] = None
    st.session_state["chart_generation"] = st.session_state.get("chart_generation", 0) + 1


PAGE_SIZE = 50  # headlines (stories) a page shows first, and each "view more" adds


def page_limit(signature: tuple[object, ...]) -> int:
    """How many stories to list: `PAGE_SIZE` again whenever the view's `signature` (its
    filters, range and grouping) changes, else what "view more" made it."""
    if st.session_state.get("page_filters") != signature:
        st.session_state["page_filters"] = signature
        st.session_state["page_limit"] = PAGE_SIZE
    return st.session_state.get("page_limit", PAGE_SIZE)


def _view_more() -> None:
    st.session_state["page_limit"] = st.session_state.get("page_limit", PAGE_SIZE) + PAGE_SIZE


def view_more(hidden: int, stories: bool = False) -> None:
    """The "view more headlines" button, while `hidden` stories are left past the page;
    it says "stories" when some hold several headlines (`stories`), as the downloads count
    headlines. Its click adds a page before the run it starts (one run, not two)."""
    if hidden:
        what = " stories" if stories else ""
        st.button(f"view more headlines ({hidden} more{what})", key="more", on_click=_view_more)


def by_bucket(entries: Sequence[Story], now: datetime, zone: tzinfo) -> list[Bucket]:
    """The stories in the page's buckets, newest first (see `headline_list`)."""
    return group_by_bucket(entries, now, zone, lambda story: story.newest)


@st.fragment
def headline_list(
    buckets: Sequence[Bucket],
    zone: tzinfo,
    keyword: Query | None,
    since: datetime | None,
    arrived: Collection[str],
    view: tuple[object, ...],
) -> None:
    """The stories of `buckets` (`by_bucket`), as many as paging allows (`page_limit` of
    `view`: the filters, range and grouping), stories opened kept open, and "view more
    headlines".

    A fragment: "view more" reruns only this, with the buckets of the page's last run (so
    it sorts nothing again), and the browser redraws only the list, not the chart, the
    sidebar and the rest.
    """
    limit = page_limit(view)
    groups, hidden = first_page(buckets, limit)
    # One element per page of `PAGE_SIZE`: "view more" adds an element, and the pages
    # already shown are sent unchanged, so the browser neither sanitises nor lays them
    # out again (at 10,000 headlines its part of a "view more" was mostly that).
    # A later page's block is pulled up by the gap Streamlit leaves between elements
    # (np-page in ui/page.css), so the list looks as one.
    for number, page in enumerate(in_pages(groups, PAGE_SIZE)):
        blocks = [(bucket.heading, items) for bucket, items, _ in page]
        drawn = buckets_html(
            blocks, zone, keyword, new_since=since, new_guids=arrived, continued=page[0][2]
        )
        st.html(f'<div class="np-page">{drawn}</div>' if number else drawn)
    keep_stories_open()
    view_more(hidden, any(story.others for _, items in buckets for story in items))


def stories(
    index: TopicIndex | None, view: Hashable, headlines: Sequence[Headline]
) -> Sequence[Story]:
    """The headlines as stories: the topic's grouping narrowed to them (`index` is the page's
    `TopicIndex`, `view` what chose `headlines` from it: see `TopicIndex.stories`), or one
    story per headline when grouping is off (None)."""
    if index is None:
        return [Story(item, ()) for item in headlines]
    return index.stories(view, headlines)


# A story opened ("+N more") is a <details> the browser opens: the server never hears of it,
# and a rerun that changes the list draws the list anew, closed. This remembers, per tab,
# which stories the viewer opened (by their first report's guid, `data-story`) and opens
# them again whenever the list is drawn, so a page that updates itself keeps them open.
KEEP_OPEN_SCRIPT = """
(() => {
  if (window.npKeepOpen) return;
  const opened = window.npKeepOpen = new Set();
  const keyOf = (details) => details.dataset.story ?? null;
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!details.matches?.("details.np-more")) return;
    const key = keyOf(details);
    if (key === null) return;
    if (details.open) opened.add(key); else opened.delete(key);
  }, true);
  new MutationObserver((changes) => {
    if (!opened.size) return;
    for (const change of changes) for (const node of change.addedNodes) {
      if (node.nodeType !== 1) continue;
      const found = [...node.querySelectorAll("details.np-more:not([open])")];
      if (node.matches("details.np-more")) found.push(node);
      for (const details of found) {
        if (opened.has(keyOf(details))) details.open = true;
      }
    }
  }).observe(document.body, {childList: true, subtree: true});
})();
"""


def keep_stories_open() -> None:
    """Stories the viewer opened stay open when the list is drawn again (see
    `KEEP_OPEN_SCRIPT`)."""
    st.html(f"<script>{KEEP_OPEN_SCRIPT}</script>", unsafe_allow_javascript=True)


def app_address(public_url: str | None) -> str:
    """The app's address ending in "/": NEWS_PUBLIC_URL when set, else the one this viewer
    opened (its scheme, host and Streamlit's base path), else "/" (a relative address)."""
    if public_url:
        return public_url
    opened = urlsplit(st.context.url or "")
    if opened.scheme not in ("http", "https") or not opened.netloc:
        return "/"
    path = "/" + str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"{opened.scheme}://{opened.netloc}{path.rstrip('/')}/"


@dataclass(frozen=True, slots=True)
class FeedAddresses:
    """The addresses of one view: the page's link and its feeds (see ui/feedroutes.py)."""

    page: str
    rss: str
    json: str


def feed_addresses(base: str, query: Mapping[str, str | Sequence[str]]) -> FeedAddresses:
    """The view's addresses under `base` (see `app_address`), with the link's `query`."""
    tail = f"?{urlencode(query, doseq=True)}" if query else ""
    return FeedAddresses(f"{base}{tail}", f"{base}feed.rss{tail}", f"{base}feed.json{tail}")


def subscribe(where: DeltaGenerator, addresses: FeedAddresses) -> None:
    """The "Subscribe" control: the view's feed addresses to copy into a feed reader."""
    with where.popover("Subscribe", icon=":material/rss_feed:", width="stretch"):
        st.caption(
            f"This view as a feed that stays current: the newest {FEED_ITEMS} headlines of "
            "the same filters, for a feed reader, a chat channel or a script. "
            "Copy an address with the button at its right."
        )
        st.code(addresses.rss, language=None, wrap_lines=True)
        st.caption("The same as JSON Feed:")
        st.code(addresses.json, language=None, wrap_lines=True)


# Feed readers' browser extensions look for <link rel="alternate"> in the page's head; the
# page's HTML is Streamlit's and the same for every view, so it is put there once the page
# runs (a reader fetching the bare HTML, without running scripts, does not see it).
ALTERNATE_SCRIPT = """
(() => {
  const head = document.head;
  head.querySelectorAll("link[data-np-feed]").forEach((link) => link.remove());
  for (const [type, href] of [["application/rss+xml", %(rss)s],
                              ["application/feed+json", %(json)s]]) {
    const link = document.createElement("link");
    link.rel = "alternate"; link.type = type; link.href = href; link.title = %(title)s;
    link.dataset.npFeed = "1";
    head.appendChild(link);
  }
})();
"""


def _script_text(value: str) -> str:
    # A JSON string is a JavaScript string; "<" escaped so no text can end the script.
    return json.dumps(value).replace("<", "\\u003c")


def alternate_links(addresses: FeedAddresses, title: str) -> None:
    """The view's feeds as `<link rel="alternate">` in the page's head (see above)."""
    script = ALTERNATE_SCRIPT % {
        "rss": _script_text(addresses.rss),
        "json": _script_text(addresses.json),
        "title": _script_text(title),
    }
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def downloads(
    headlines: Sequence[Headline],
    topic: Topic,
    now: datetime,
    summaries: Callable[[Sequence[str]], dict[str, str]],
    addresses: FeedAddresses,
) -> None:
    """CSV, JSON and RSS of the headlines in view (made only when a button is clicked), and
    the "Subscribe" control with the view's feed addresses.

    The page holds headlines without their summaries; `summaries` (`Store.summaries`) gives
    them back by guid for the RSS file's descriptions.
    """
    items = tuple(headlines)

    def rss() -> bytes:
        found = summaries([item.guid for item in items])
        full = [replace(item, summary=found.get(item.guid, item.summary)) for item in items]
        return to_rss(
            full,
            title=f"{topic.title} (filtered view)",
            link=addresses.page,
            description=f"{len(items)} headlines from the {topic.title} page",
            now=now,
        )

    name = f"{topic.slug}-{now:%Y%m%d-%H%M}"
    columns = st.columns([2, 1, 1, 1, 1.3], vertical_alignment="center")
    label, csv_col, json_col, rss_col, feed_col = columns
    label.caption(f"Download the {len(items)} headlines in view:")
    icon = ":material/download:"
    csv_col.download_button("CSV", lambda: to_csv(items), f"{name}.csv", "text/csv",
                            on_click="ignore", key="dl-csv", icon=icon)  # fmt: skip
    json_col.download_button("JSON", lambda: to_json(items), f"{name}.json", "application/json",
                             on_click="ignore", key="dl-json", icon=icon)  # fmt: skip
    rss_col.download_button(
        "RSS",
        rss,
        f"{name}.xml",
        "application/rss+xml",
        on_click="ignore",
        key="dl-rss",
        icon=icon,
        help="The headlines in view now, as an RSS file. To follow this view, use Subscribe.",
    )
    subscribe(feed_col, addresses)


def _narrow_to_publication() -> None:
    picked = st.session_state.get("pub_pick")
    if picked:
        st.session_state[PUB_MODE] = ONLY
        st.session_state[PUBS] = [picked]
    st.session_state["pub_pick"] = None


def publication_pills(headlines: Sequence[Headline], top: int = 8) -> None:
    """The publications most present in view; clicking one narrows the list to it."""
    ranked = publication_counts(headlines)
    if len(ranked) < 2:
        return
    counts = dict(ranked)
    names = [name for name, _ in ranked[:top]]
    st.pills(
        "Narrow to one publication",
        names,
        format_func=lambda name: literal_markdown(f"{name} ({counts[name]})"),
        key="pub_pick",
        on_change=_narrow_to_publication,
        label_visibility="collapsed",
    )
