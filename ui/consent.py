"""The consent notice every page shows first, until the viewer clicks OK.

OK sets one first-party cookie, so the notice stays gone on reload in the same browser.
The cookie is read back from the request (`st.context.cookies`); the script that sets it is
a fixed string, never feed content.
"""

from __future__ import annotations

import re

import streamlit as st

COOKIE = "news_consent"
_ONE_YEAR = 365 * 24 * 3600
# What a cookie this page writes may hold: its own fixed values and ISO times, never quotes.
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9:._-]+")

NOTICE = (
    'By clicking "OK" or continuing to use this page, you agree to the two cookies it sets. '
    f"**What this page stores:** `{COOKIE}`, so that this notice does not come back, and "
    "`news_last_visit`, the time of your last visit, to mark the headlines that are new "
    "since; no other cookies, no advertising, no tracking. "
    "**What it sends:** nothing about you: usage statistics are switched off, and your "
    "keyword and filter choices stay in this browser tab. The server fetches headlines from "
    "the news feeds listed on the About page; a headline you open takes you to its "
    "publisher's site, which has its own policies."
)


def write_cookie(name: str, value: str) -> None:
    """Set a first-party cookie for a year, from a script of the page's own text only."""
    if not (_COOKIE_VALUE.fullmatch(name) and _COOKIE_VALUE.fullmatch(value)):
        raise ValueError(f"not a cookie this page writes: {name!r}={value!r}")
    st.html(
        f"<script>document.cookie = '{name}={value}; Max-Age={_ONE_YEAR}; Path=/; "
        "SameSite=Lax';</script>",
        unsafe_allow_javascript=True,
    )


def accepted() -> bool:
    """Whether this browser has accepted the notice (this session or an earlier one)."""
    return bool(st.session_state.get("consent_ok")) or st.context.cookies.get(COOKIE) == "1"


def _accept() -> None:
    st.session_state["consent_ok"] = True
    st.session_state["consent_write_cookie"] = True


def consent_notice() -> None:
    """Show the notice until OK is clicked; after the click, write the cookie once."""
    if st.session_state.pop("consent_write_cookie", False):
        write_cookie(COOKIE, "1")
    if accepted():
        return
    with st.container(border=True, key="consent-notice"):
        text, button = st.columns([6, 1], vertical_alignment="center")
        text.markdown(NOTICE)
        button.button("OK", key="consent-ok", type="primary", on_click=_accept)
