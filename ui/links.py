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

import streamlit as st

from lib.render import literal_markdown

# Parameter names: the widget keys they are bound to.
TOPIC, KEYWORD, PUB_MODE, PUBS, ZONE = "topic", "q", "pub_mode", "pubs", "tz"
START, END = "from", "to"  # the time range chosen on the chart
KNOWN = (TOPIC, KEYWORD, PUB_MODE, PUBS, ZONE, START, END)


def raw_params() -> dict[str, list[str]]:
    """The URL's parameters as they came, before any bound widget cleans them."""
    return {key: st.query_params.get_all(key) for key in st.query_params}


def unknown_params(raw: Mapping[str, Sequence[str]]) -> list[str]:
    """Notices for parameters the page does not know."""
    return [f"“{key}” is not a setting of this page" for key in raw if key not in KNOWN]


def seed_from_link(
    raw: Mapping[str, Sequence[str]],
    key: str,
    valid: Collection[str] | None,
    what: str,
    *,
    many: bool = False,
) -> list[str]:
    """Put the link's value for `key` into the widget's state (call before the widget).

    `valid` None accepts any text. Returns notices for values that are not valid now.
    """
    if key not in raw:
        return []
    values = [value for value in raw[key] if value.strip()] if valid is None else raw[key]
    good = [value for value in values if valid is None or value in valid]
    notices = [f"{what} “{value}” is not available now" for value in values if value not in good]
    if many:
        st.session_state[key] = list(dict.fromkeys(good))
    elif good:
        st.session_state[key] = good[0]
    return notices


def write_link(
    values: Mapping[str, str | Sequence[str] | None], defaults: Mapping[str, object]
) -> None:
    """Mirror the current view into the URL; settings at their default are left out."""
    wanted: dict[str, str | list[str]] = {}
    for key, value in values.items():
        if value in (None, "", []) or value == defaults.get(key):
            continue
        wanted[key] = value if isinstance(value, str) else list(value)
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
            help="Links keep the topic, keywords, publication filters, time range and zone.",
        )
