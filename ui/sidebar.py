"""The headlines page's sidebar: publication filters, keyword box, display zone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from lib.errors import QuerySyntaxError
from lib.query import Query, parse_keyword
from lib.render import literal_markdown
from ui.keys import GROUP, KEYWORD, PUB_MODE, PUBS, ZONE

ALL, ONLY, EXCEPT = "all", "only", "except"
PUB_MODES = (ALL, ONLY, EXCEPT)
_MODES = {ALL: "All publications", ONLY: "Only the selected", EXCEPT: "All but the selected"}
TOPIC_ZONE, BROWSER_ZONE, UTC_ZONE = "topic", "browser", "utc"
ZONES = (TOPIC_ZONE, BROWSER_ZONE, UTC_ZONE)

KEYWORD_HELP = (
    "Words match whole words, in any case and with or without accents. "
    '"Quoted phrases" match words in a row; AND, OR, NOT (or a leading -) and '
    "parentheses combine them; words side by side must all match; `russ*` matches "
    "words starting with russ."
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the sidebar asks for."""

    keyword: Query | None
    keyword_problem: str | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    zone: ZoneInfo
    zone_note: str | None
    grouped: bool = True

    @property
    def signature(self) -> tuple[object, ...]:
        """Changes whenever the filters change (paging starts again then)."""
        return (str(self.keyword), self.include, self.exclude)


# "All but the selected": the chosen publications are the hidden ones; their chips are
# struck out on a grey ground (Streamlit draws the widget; it has no style option for it).
EXCEPT_STYLE = """<style>
.st-key-pubs [data-tag] {background-color: #5f6368 !important; color: #fff !important;}
.st-key-pubs [data-tag] > span {text-decoration: line-through;}
</style>"""
# The publications' dropdown is as wide as the sidebar's box, which cuts long names: it is
# made wider (within the screen) and a name wraps onto a second line of its row.
PUBS_STYLE = """<style>
[data-testid="stMultiSelectDropdown"]:has([role="listbox"][aria-label^="Publications"]) {
  width: min(34rem, calc(100vw - 2rem)) !important;
}
[role="listbox"][aria-label^="Publications"] [role="presentation"] {width: 100% !important;}
[role="listbox"][aria-label^="Publications"] [role="option"] > div {
  white-space: normal; line-height: 1.2; overflow-wrap: anywhere;
}
</style>"""


def _mode_changed() -> None:
    # Back to "All publications": the old choice goes, from the box and from the link.
    if st.session_state.get(PUB_MODE) == ALL:
        st.session_state[PUBS] = []


def chosen_zone(topic_zone: str) -> tuple[ZoneInfo, str | None]:
    """The display zone chosen in the sidebar (kept across pages), and a note if it fell back."""
    return _zone(st.session_state.get(ZONE, TOPIC_ZONE), topic_zone)


def _zone(choice: str, topic_zone: str) -> tuple[ZoneInfo, str | None]:
    if choice == UTC_ZONE:
        return ZoneInfo("UTC"), None
    if choice == BROWSER_ZONE:
        browser = st.context.timezone
        if browser:
            try:
                return ZoneInfo(browser), None
            except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder
                pass
        return ZoneInfo(topic_zone), f"Your browser's zone is not known yet; showing {topic_zone}."
    return ZoneInfo(topic_zone), None


@dataclass(frozen=True, slots=True)
class Display:
    """How the list is shown (the sidebar's lower half): the zone and the grouping."""

    zone: ZoneInfo
    zone_note: str | None
    grouped: bool


def chosen_display(topic_zone: str) -> Display:
    """The zone and grouping in force, read before their widgets are drawn (they are drawn
    below the filters, which need them: see `display_options`)."""
    zone, note = chosen_zone(topic_zone)
    # On unless a link or the viewer turned it off (set here, not as the toggle's `value`,
    # so a link's "group=off" put in the state does not draw Streamlit's default warning).
    st.session_state.setdefault(GROUP, True)
    return Display(zone, note, bool(st.session_state[GROUP]))


def sidebar_filters(publications: Sequence[tuple[str, int]], display: Display) -> Filters:
    """Draw the sidebar's filters (publications, keyword) and return them with `display`."""
    bar = st.sidebar
    bar.header("Publication filters")
    counts = dict(publications)
    chosen = st.session_state.get(PUBS, [])
    # A publication chosen earlier stays selectable even when none of its headlines is left.
    options = [name for name, _ in publications] + [n for n in chosen if n not in counts]
    mode = bar.radio(
        "Show",
        list(_MODES),
        format_func=_MODES.__getitem__,
        key=PUB_MODE,
        persist_state="session",
        label_visibility="collapsed",
        on_change=_mode_changed,
    )
    # Hidden ones look struck out, not like the ones shown.
    bar.html(PUBS_STYLE + (EXCEPT_STYLE if mode == EXCEPT else ""))
    picked = bar.multiselect(
        "Publications to hide" if mode == EXCEPT else "Publications to show",
        options,
        key=PUBS,
        persist_state="session",
        format_func=lambda name: f"{name} ({counts.get(name, 0)})",
        placeholder="Choose publications",
        disabled=mode == ALL,
        label_visibility="collapsed",
    )
    if mode != ALL and not picked:
        # Switching the mode is the first of two clicks: the page keeps every headline (not
        # an empty page between the clicks) and says so.
        bar.caption("None chosen yet: every publication is shown.")
    bar.header("Keyword", help=KEYWORD_HELP)
    text = bar.text_input(
        "Keyword",
        key=KEYWORD,
        persist_state="session",
        placeholder='e.g. trade OR "gas pipeline"',
        label_visibility="collapsed",
    )
    keyword: Query | None = None
    problem = None
    if text and text.strip():
        try:
            keyword = parse_keyword(text)
        except QuerySyntaxError as exc:
            problem = exc.problem
            bar.warning(literal_markdown(f"Keyword not used: {problem}"))
    return Filters(
        keyword=keyword,
        keyword_problem=problem,
        include=tuple(picked) if mode == ONLY else (),
        exclude=tuple(picked) if mode == EXCEPT else (),
        zone=display.zone,
        zone_note=display.zone_note,
        grouped=display.grouped,
    )


def display_options(topic_zone: str) -> None:
    """Draw the sidebar's time zone and grouping (read by `chosen_display`; a change reruns
    the whole page, as the clock and status lines show times too)."""
    bar = st.sidebar
    bar.header("Time zone")
    bar.radio(
        "Show times in",
        [TOPIC_ZONE, BROWSER_ZONE, UTC_ZONE],
        format_func={
            TOPIC_ZONE: literal_markdown(f"Topic default ({topic_zone})"),
            BROWSER_ZONE: "My browser's zone",
            UTC_ZONE: "UTC",
        }.__getitem__,
        key=ZONE,
        persist_state="session",
    )
    bar.header("Stories")
    bar.toggle(  # its state (on unless a link or the viewer said off): `chosen_display`
        "Group copies of a story",
        key=GROUP,
        persist_state="session",
        help="Headlines about the same story from several publications become one entry: "
        "its newest report, then the others to open. Two headlines are one story when they "
        "were published within 48 hours of each other and most of their words are the same.",
    )
