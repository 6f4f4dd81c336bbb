"""The view as a link: the URL carries topic, keyword, publication filters, zone and range.

On a session's first run the link's values are put into the widgets' state (each checked
against what is valid now: a stale or mistyped value gets a short notice, never a crash);
after that the widgets are the truth and every run writes them back into the URL, with
short codes rather than labels (`tz=utc`, not the label of the radio button), and nothing
for a setting left at its default, so a copied URL stays short.

Streamlit's own `bind="query-params"` puts the *formatted labels* in the URL and drops bad
values silently, which is why the page does this itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, tzinfo

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from lib.density import range_in_window
from lib.render import literal_markdown, some_names
from lib.times import WINDOW, iso_z, read_iso_time
from ui.keys import END, GROUP, GROUPINGS, KEYWORD, KNOWN, PUB_MODE, PUBS, START, TOPIC, ZONE
from ui.sidebar import ALL, PUB_MODES, TOPIC_ZONE, ZONES

# Set by the topic switcher when the viewer picks another topic (not when a link or Back
# does): the Headlines page then drops what belonged to the old topic (`settle_topic_switch`).
SWITCHED = "topic_switched"


def history_navigation() -> bool:
    """Whether this run comes from the browser's Back or Forward button.

    Streamlit 1.67 listens to `popstate` itself: it reruns the page with the history
    entry's query string and flags the run (`ScriptRunContext.is_history_navigation`, read
    here as there is no public API for it). Widgets bound with `bind="query-params"` take
    the URL's values then; this page binds its widgets itself, so it reads the link again
    on such a run (`ui.page.setup`)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.is_history_navigation)


def raw_params() -> dict[str, list[str]]:
    """The URL's parameters as they came, before any bound widget cleans them."""
    return {key: st.query_params.get_all(key) for key in st.query_params}


def unknown_params(raw: Mapping[str, Sequence[str]]) -> list[str]:
    """Notices for parameters the page does not know."""
    return [f"“{key}” is not a setting of this page" for key in raw if key not in KNOWN]


def link_values(
    raw: Mapping[str, Sequence[str]],
    key: str,
    valid: Collection[str] | None,
    what: str,
    *,
    many: bool = False,
) -> tuple[list[str], list[str]]:
    """The link's usable values for `key` (first wins for a one-value setting), and notices.

    `valid` None accepts any non-blank text. One notice per distinct bad value, so a value
    repeated in the link (`?tz=x&tz=x`) is one notice; a one-value setting given several
    values (`?q=a&q=b`) is one notice for the parameter, and its first usable value is kept.
    """
    values = list(dict.fromkeys(raw.get(key, ())))  # each distinct value once, in order
    if valid is None:
        values = [value for value in values if value.strip()]
    good = [value for value in values if valid is None or value in valid]
    if not many:
        if len(values) > 1:
            return good[:1], [f"{what} is given {len(values)} times; the first usable one is kept"]
        good = good[:1]
    return good, [f"{what} “{value}” is not available now" for value in values if value not in good]


def seed_from_link(
    raw: Mapping[str, Sequence[str]],
    key: str,
    valid: Collection[str] | None,
    what: str,
    *,
    many: bool = False,
) -> list[str]:
    """Put the link's value for `key` into the widget's state (call before the widget).

    Returns notices for what the link asked that is not valid now (see `link_values`).
    """
    if key not in raw:
        return []
    good, notices = link_values(raw, key, valid, what, many=many)
    if many:
        st.session_state[key] = good
    elif good:
        st.session_state[key] = good[0]
    return notices


def link_range(
    raw: Mapping[str, Sequence[str]], now: datetime, zone: tzinfo
) -> tuple[tuple[datetime, datetime] | None, list[str]]:
    """The time range a link's `from`/`to` carry, cut to the chart's window, and notices.

    Any text is safe: unreadable times, times at the calendar's ends and ranges wholly
    outside the last 7 days give None and one notice; a range partly outside is cut.
    """
    if START not in raw and END not in raw:
        return None, []
    starts, ends = set(raw.get(START, ())), set(raw.get(END, ()))
    if len(starts) > 1 or len(ends) > 1:
        return None, ["the time range in the link is given more than once"]
    start = read_iso_time(next(iter(starts), ""))
    end = read_iso_time(next(iter(ends), ""))
    if start is None or end is None or start >= end:
        return None, ["the time range in the link is not a valid from/to pair"]
    inside = range_in_window(start, end, now, zone, WINDOW)
    if inside is None:
        return None, ["the time range in the link is outside the last 7 days"]
    if inside != (start, end):
        return inside, ["the time range in the link reaches outside the last 7 days (cut to them)"]
    return inside, []


def link_query(
    values: Mapping[str, str | Sequence[str] | None], defaults: Mapping[str, object]
) -> dict[str, str | list[str]]:
    """The link's parameters for a view; settings at their default are left out."""
    wanted: dict[str, str | list[str]] = {}
    for key, value in values.items():
        if value in (None, "", []) or value == defaults.get(key):
            continue
        wanted[key] = value if isinstance(value, str) else list(value)
    return wanted


def write_link(
    values: Mapping[str, str | Sequence[str] | None], defaults: Mapping[str, object]
) -> None:
    """Mirror the current view into the URL; settings at their default are left out."""
    wanted = link_query(values, defaults)
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    as_lists = {key: [v] if isinstance(v, str) else v for key, v in wanted.items()}
    if current != as_lists:
        st.query_params.from_dict(wanted)


def show_notices(notices: Sequence[str]) -> None:
    """One short toast-like line for what the link asked that the page could not do."""
    if notices:
        ignored = "Some of this link's settings were ignored: " + "; ".join(notices) + "."
        st.caption(
            literal_markdown(ignored),
            help="Links keep the topic, keywords, publication filters, time range, zone and "
            "grouping.",
        )


# What each Headlines setting is when the link leaves it out.
DEFAULTS: dict[str, object] = {KEYWORD: "", PUB_MODE: ALL, PUBS: [], ZONE: TOPIC_ZONE, GROUP: True}


def seed_headlines_link(
    link: Mapping[str, Sequence[str]], publications: Collection[str], *, restore: bool = False
) -> list[str]:
    """Put the Headlines page's settings from a link into its sidebar widgets (before they
    are drawn); notices for what is not valid now. The time range is seeded once the zone
    is known (`ui.explore.range_from_link`).

    `restore` (Back or Forward): a setting the link leaves out goes back to its default, as
    the history entry shows the view it had then."""
    if restore:
        for key, default in DEFAULTS.items():
            if key not in link:
                st.session_state[key] = list(default) if isinstance(default, list) else default
    grouping, notices = link_values(link, GROUP, GROUPINGS, "Grouping")
    if grouping:
        st.session_state[GROUP] = grouping[0] == "on"  # the toggle holds a bool
    return [
        *seed_from_link(link, PUB_MODE, PUB_MODES, "Publication filter"),
        *seed_from_link(link, PUBS, publications, "Publication", many=True),
        *seed_from_link(link, ZONE, ZONES, "Time zone"),
        *seed_from_link(link, KEYWORD, None, "Keyword"),
        *notices,
    ]


def headlines_view(
    topic: str, first_topic: str, chosen: tuple[datetime, datetime] | None
) -> dict[str, str | list[str]]:
    """The Headlines page's view as link parameters: `topic`, the sidebar's widgets and the
    range `chosen` on the chart (`first_topic` is the default topic, left out)."""
    mode = st.session_state.get(PUB_MODE)
    picked = st.session_state.get(PUBS) if mode not in (None, ALL) else None
    return link_query(
        {
            TOPIC: topic,
            KEYWORD: st.session_state.get(KEYWORD),
            # A publication list is in the link only with the mode it is used in.
            PUB_MODE: mode if picked else None,
            PUBS: picked,
            ZONE: st.session_state.get(ZONE),
            START: iso_z(chosen[0]) if chosen else None,
            END: iso_z(chosen[1]) if chosen else None,
            GROUP: "off" if st.session_state.get(GROUP) is False else None,
        },
        {TOPIC: first_topic, PUB_MODE: PUB_MODES[0], ZONE: ZONES[0]},
    )


def mirror_headlines_view(
    topic: str, first_topic: str, chosen: tuple[datetime, datetime] | None
) -> dict[str, str | list[str]]:
    """Write the Headlines page's view into the URL (see `headlines_view`); returns it."""
    wanted = headlines_view(topic, first_topic, chosen)
    write_link(wanted, {})
    return wanted


def settle_topic_switch(publications: Collection[str]) -> str | None:
    """After the viewer switched topic, drop what belonged to the old one (call before the
    sidebar is drawn); one line saying what was dropped, or None.

    The keyword goes: it was typed to narrow the old topic's list, and kept it mostly
    narrows the new one to nothing ("no headlines" on a topic just opened). Publications
    the new topic does not have go (the others stay); the chart range, time zone and
    grouping are about how to look, not what, and stay.
    """
    if not st.session_state.pop(SWITCHED, False):
        return None
    dropped = []
    keyword = str(st.session_state.get(KEYWORD) or "").strip()
    if keyword:
        st.session_state[KEYWORD] = ""
        dropped.append(f"the keyword “{keyword}”")
    picked = list(st.session_state.get(PUBS) or [])
    kept = [name for name in picked if name in publications]
    gone = [name for name in picked if name not in publications]
    if gone:
        st.session_state[PUBS] = kept
        dropped.append(f"the publication filter's {some_names(gone)} (not in this topic)")
    if not kept and st.session_state.get(PUB_MODE, ALL) != ALL:
        st.session_state[PUB_MODE] = ALL
    if not dropped:
        return None
    return (
        "Topic switched, so "
        + " and ".join(dropped)
        + (" were" if len(dropped) > 1 else " was")
        + " cleared."
    )


def show_switch_note(note: str | None) -> None:
    """The one line saying what a topic switch dropped, and the same as a toast: on a phone
    the switch is made in the sidebar, which covers the page's line until it is closed."""
    if note:
        st.caption(literal_markdown(note))
        st.toast(literal_markdown(note), icon=":material/filter_alt_off:")
