"""The active filters as a line of chips in the main area, each with its own remove, and
"Clear all": the sidebar is closed on a phone (and often on a desktop), and a view
narrowed by a keyword, publications or a range must say so where the headlines are."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

import streamlit as st

from lib.buckets import format_moment
from lib.render import literal_markdown, some_names
from ui.explore import reset_range
from ui.keys import GROUP, KEYWORD, PUB_MODE, PUBS, ZONE
from ui.sidebar import ALL, BROWSER_ZONE, TOPIC_ZONE, UTC_ZONE, Filters


@dataclass(frozen=True, slots=True)
class Chip:
    """One active filter: its widget key, its words, and how to remove it."""

    key: str
    label: str
    help: str
    remove: Callable[[], None]


def _set(key: str, value: object) -> Callable[[], None]:
    def clear() -> None:
        st.session_state[key] = value

    return clear


# The chips are drawn in the Headlines page's view fragment, whose reruns leave the rest of
# the page as it was drawn. Removing the zone or the grouping changes that rest (the clock's
# zone, the sidebar's own widgets): its callback asks for the whole page, which the view
# does first thing (`rerun_page_if_asked`), as a callback itself cannot rerun the app.
WHOLE_PAGE = "_chips_whole_page"


def _whole_page(remove: Callable[[], None]) -> Callable[[], None]:
    def removed() -> None:
        remove()
        st.session_state[WHOLE_PAGE] = True

    return removed


def rerun_page_if_asked() -> None:
    """Rerun the whole page when a chip removed asked for it (call first in the view)."""
    if st.session_state.pop(WHOLE_PAGE, False):
        st.rerun(scope="app")


def _clear_publications() -> None:
    st.session_state[PUBS] = []
    st.session_state[PUB_MODE] = ALL


def active_chips(
    filters: Filters, chosen: tuple[datetime, datetime] | None, zone: tzinfo, listed: int
) -> list[Chip]:
    """The chips for what narrows or changes the view now (nothing at its default);
    `listed`: how many headlines the range leaves."""
    chips = []
    text = str(st.session_state.get(KEYWORD) or "").strip()
    if filters.keyword_problem:
        label = f"Keyword not used: “{text}” ({filters.keyword_problem})"
        why = "It has a syntax error, so every headline is shown: remove it or correct it."
        chips.append(Chip("keyword", label, why, _set(KEYWORD, "")))
    elif text:
        chips.append(Chip("keyword", f"Keyword: {text}", "Remove the keyword", _set(KEYWORD, "")))
    if filters.include:
        chips.append(Chip("pubs", f"Only: {some_names(filters.include)}",
                          "Remove the publication filter", _clear_publications))  # fmt: skip
    elif filters.exclude:
        chips.append(Chip("pubs", f"Hiding: {some_names(filters.exclude)}",
                          "Remove the publication filter", _clear_publications))  # fmt: skip
    if chosen:
        start, end = (format_moment(moment, zone) for moment in chosen)
        label = f"{listed} headline{'' if listed == 1 else 's'} from {start} to {end}"
        chips.append(Chip("range", label, "Chosen on the chart: remove it to list all",
                          reset_range))  # fmt: skip
    zone_choice = st.session_state.get(ZONE, TOPIC_ZONE)
    if zone_choice in (BROWSER_ZONE, UTC_ZONE):
        label = "Times in UTC" if zone_choice == UTC_ZONE else "Times in your browser's zone"
        chips.append(Chip("zone", label, "Back to the topic's time zone",
                          _whole_page(_set(ZONE, TOPIC_ZONE))))  # fmt: skip
    if not filters.grouped:
        regroup = _whole_page(_set(GROUP, True))
        chips.append(Chip("group", "Copies of a story listed apart",
                          "Group copies of a story again", regroup))  # fmt: skip
    return chips


def _clear_all(chips: Sequence[Chip]) -> Callable[[], None]:
    def clear() -> None:
        for chip in chips:
            chip.remove()

    return clear


def chips_line(chips: Sequence[Chip]) -> None:
    """The chips in one wrapping row, each a button that removes it, then "Clear all"."""
    if not chips:
        return
    with st.container(horizontal=True, key="active-filters", gap="small"):
        for chip in chips:
            st.button(
                literal_markdown(chip.label),
                key=f"chip-{chip.key}",
                icon=":material/close:",
                help=chip.help,
                on_click=chip.remove,
                width="content",
            )
        if len(chips) > 1:
            st.button("Clear all", key="chip-clear-all", type="tertiary",
                      on_click=_clear_all(chips), width="content")  # fmt: skip
