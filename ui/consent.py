"""The consent notice every page shows first, until the viewer clicks OK.

OK sets one first-party cookie, so the notice stays gone on reload in the same browser.
The cookie is read back from the request (`st.context.cookies`); the script that sets it is
a fixed string, never feed content.
"""

from __future__ import annotations

import re
import secrets

import streamlit as st

COOKIE = "news_consent"
_ONE_YEAR = 365 * 24 * 3600
# What a cookie this page writes may hold: its own fixed values and ISO times, never quotes.
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9:._-]+")

NOTICE = (
    'By clicking "OK" or continuing to use this page, you agree to the two cookies it sets. '
    f"**What this page stores:** `{COOKIE}`, a random number so that this notice does not "
    "come back and the feeds you add stay listed (the server keeps them under it), and "
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


# The consent cookie holds a random id of the browser (what keeps a viewer's own feeds,
# ui/user_feeds.py); "1" is what releases before it wrote.
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def _cookie_id() -> str | None:
    """The browser id the consent cookie carries, if it is one (any other text is ignored)."""
    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) and _BROWSER_ID.fullmatch(value) else None


def browser_id() -> str:
    """This browser's id: the consent cookie's, else one made for this session (written
    into the cookie by `remember_browser`)."""
    found = _cookie_id() or st.session_state.get("browser_id")
    if found is None:
        found = st.session_state["browser_id"] = secrets.token_urlsafe(16)  # 22 characters
    return found


def accepted() -> bool:
    """Whether this browser has accepted the notice (this session or an earlier one)."""
    return (
        bool(st.session_state.get("consent_ok"))
        or st.context.cookies.get(COOKIE) == "1"
        or _cookie_id() is not None
    )


def _accept() -> None:
    st.session_state["consent_ok"] = True
    st.session_state["consent_write_cookie"] = True


def remember_browser() -> None:
    """Keep this browser's id in the consent cookie (from the next run on): a viewer who
    adds a feed has continued, which the notice counts as agreeing."""
    if _cookie_id() is None:
        _accept()


def consent_notice() -> None:
    """Show the notice until OK is clicked; after the click, write the cookie.

    The cookie the server sees is the one the page was opened with, so it is written on
    every run after the click until a reload brings it back (a script of a run cut short
    by the next one may never run)."""
    write = st.session_state.pop("consent_write_cookie", False)
    if write or (st.session_state.get("consent_ok") and _cookie_id() != browser_id()):
        write_cookie(COOKIE, browser_id())
    if accepted():
        return
    with st.container(border=True, key="consent-notice"):
        text, button = st.columns([6, 1], vertical_alignment="center")
        text.markdown(NOTICE)
        button.button("OK", key="consent-ok", type="primary", on_click=_accept)
