"""Exploring the list: the density chart and its chosen range, paging, story grouping (and
opened stories kept open), and downloads of the view."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, tzinfo

import streamlit as st

from lib.buckets import Bucket as BucketName
from lib.buckets import format_moment
from lib.density import density
from lib.export import to_csv, to_json, to_rss
from lib.model import Headline, Topic
from lib.query import Query
from lib.render import buckets_html, literal_markdown
from lib.selection import first_page, group_by_bucket
from lib.store import WINDOW
from lib.stories import Grouping, Story
from ui.chart import SELECTION_MODE, SPIKE_NOTE, arrow_datasets, density_spec, selected_range
from ui.links import link_range

Range = tuple[datetime, datetime]
Bucket = tuple[BucketName, list[Story]]  # a bucket of the page and its stories


def range_from_link(link: dict[str, list[str]], now: datetime, zone: tzinfo) -> list[str]:
    """On a session's first run, take the time range a link carries; notices for bad ones."""
    chosen, notices = link_range(link, now, zone)
    if chosen is not None:
        st.session_state["range"] = chosen
    return notices


def chart_key() -> str:
    """The chart's widget key; a new key clears its selection (the chip's reset)."""
    return f"density-{st.session_state.get('chart_generation', 0)}"


def chosen_range(event: object, zone: tzinfo) -> Range | None:
    """The range to list: a new click or brush on the chart, else the one chosen before."""
    picked = selected_range(event, zone)
    if picked != st.session_state.get("last_pick"):
        st.session_state["last_pick"] = picked
        st.session_state["range"] = picked
    return st.session_state.get("range")


def density_chart(shown: Sequence[Headline], now: datetime, zone: tzinfo) -> Range | None:
    """The density chart of `shown` over the window, and the range chosen on it (a click or
    a drag now, else the one chosen before or given by the link)."""
    st.subheader("Headline Density")
    slots = density(shown, now, zone, WINDOW)  # the chart shows the whole filter
    # The spec is the same on every draw and the data goes as named Arrow datasets, so the
    # browser updates the drawn chart's data rather than embedding a new one (ui/chart.py).
    event = st.vega_lite_chart(
        arrow_datasets(density_spec(slots, zone)),
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
    return chosen_range(event, zone)


def _reset_range() -> None:
    st.session_state["range"] = None
    st.session_state["last_pick"] = None
    st.session_state["chart_generation"] = st.session_state.get("chart_generation", 0) + 1


def range_chip(chosen: Range, zone: tzinfo, count: int) -> None:
    """A visible chip for the active range, with a one-click reset."""
    text, button = st.columns([6, 1], vertical_alignment="center")
    start, end = chosen
    text.info(
        f"Showing {count} headlines from {format_moment(start, zone)} "
        f"to {format_moment(end, zone)}, chosen on the chart.",
        icon=":material/filter_alt:",
    )
    button.button("Show all", key="range-reset", on_click=_reset_range, help="Clear the range")


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


def view_more(hidden: int) -> None:
    """The "view more headlines" button, while `hidden` stories are left past the page.
    Its click adds a page before the run it starts (one run, not a run and a rerun)."""
    if hidden:
        st.button(f"view more headlines ({hidden} more)", key="more", on_click=_view_more)


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
    blocks = [(bucket.heading, items) for bucket, items in groups]
    st.html(buckets_html(blocks, zone, keyword, new_since=since, new_guids=arrived))
    keep_stories_open()
    view_more(hidden)


def stories(grouping: Grouping | None, headlines: Sequence[Headline]) -> list[Story]:
    """The headlines as stories: the topic's grouping narrowed to them (`grouping` is
    `TopicIndex.grouping()`), or one story per headline when grouping is off (None)."""
    if grouping is None:
        return [Story(item, ()) for item in headlines]
    return grouping.narrow(headlines)


# A story opened ("+N more") is a <details> the browser opens: the server never hears of it,
# and a rerun that changes the list draws the list anew, closed. This remembers, per tab,
# which stories the viewer opened (by their lead: link and title) and opens them again
# whenever the list is drawn, so a page that updates itself keeps them open.
KEEP_OPEN_SCRIPT = """
(() => {
  if (window.npKeepOpen) return;
  const opened = window.npKeepOpen = new Set();
  const keyOf = (details) => {
    const lead = details.closest("li")?.firstElementChild;
    return lead ? (lead.getAttribute("href") || "") + "|" + lead.textContent : null;
  };
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


def downloads(
    headlines: Sequence[Headline],
    topic: Topic,
    now: datetime,
    summaries: Callable[[Sequence[str]], dict[str, str]],
) -> None:
    """CSV, JSON and RSS of the headlines in view (made only when a button is clicked).

    The page holds headlines without their summaries; `summaries` (`Store.summaries`) gives
    them back by guid for the RSS file's descriptions.
    """
    items = tuple(headlines)

    def rss() -> str:
        found = summaries([item.guid for item in items])
        full = [replace(item, summary=found.get(item.guid, item.summary)) for item in items]
        return to_rss(
            full,
            title=f"{topic.title} (filtered view)",
            link="https://example.invalid/",
            description=f"{len(items)} headlines from the {topic.title} page",
            now=now,
        )

    name = f"{topic.slug}-{now:%Y%m%d-%H%M}"
    label, csv_col, json_col, rss_col = st.columns([2, 1, 1, 1], vertical_alignment="center")
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
        icon=":material/rss_feed:",
        help="This view as an RSS feed file for a feed reader.",
    )


def _narrow_to_publication() -> None:
    picked = st.session_state.get("pub_pick")
    if picked:
        st.session_state["pub_mode"] = "only"
        st.session_state["pubs"] = [picked]
    st.session_state["pub_pick"] = None


def publication_pills(headlines: Sequence[Headline], top: int = 8) -> None:
    """The publications most present in view; clicking one narrows the list to it."""
    counts: dict[str, int] = {}
    for item in headlines:
        counts[item.publication] = counts.get(item.publication, 0) + 1
    if len(counts) < 2:
        return
    names = sorted(counts, key=lambda name: (-counts[name], name.casefold()))[:top]
    st.pills(
        "Narrow to one publication",
        names,
        format_func=lambda name: literal_markdown(f"{name} ({counts[name]})"),
        key="pub_pick",
        on_change=_narrow_to_publication,
        label_visibility="collapsed",
    )
