"""The consent notice: a compact bar fixed at the bottom of every page, until the viewer
clicks OK or continues to use the page (which the notice says counts as agreeing).

Either way one first-party cookie is set, so the notice stays gone on reload in the same
browser. It holds a random id of the browser (`browser_id`), under which the server keeps
the feeds a viewer adds (ui/user_feeds.py). The cookie is read back from the request
(`st.context.cookies`); the scripts that set it are fixed strings and a checked id, never
feed content. Continuing is seen in two places: the server sees the viewer open another
page of the app; the page itself (`continue_script`) sees a click, a change or typing in any
control outside the bar (a filter, a link, the chart), sets the cookie and hides the bar at
once. Scrolling and reading do not count.
"""

from __future__ import annotations

import re
import secrets
from string import Template

import streamlit as st

COOKIE = "news_consent"
_ONE_YEAR = 365 * 24 * 3600
# Every cookie this page writes: first-party, for a year, sent with the page's own requests.
_COOKIE_ATTRIBUTES = f"Max-Age={_ONE_YEAR}; Path=/; SameSite=Lax"
# What a cookie this page writes may hold: its own fixed values and ISO times, never quotes.
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9:._-]+")
BAR_KEY = "consent-notice"  # the bar's container (CSS class st-key-consent-notice)

NOTICE = (
    'By clicking "OK" or continuing to use this page, you agree to its two cookies: '
    f"`{COOKIE}` (this notice stays away) and `news_last_visit` (to mark what is new). "
    "No other cookies, no ads, no tracking, no usage statistics; more on the About page."
)
# The same in a few words where the screen is narrow (a phone): the bar then covers less of
# the first screen than the whole sentence would (about 60 px rather than 160), so the first
# headline shows above it.
NOTICE_SHORT = (
    'Two cookies, no ads, no tracking: "OK" or continuing to use this page agrees. '
    "More on the About page."
)
# The whole story, on the About page: what is stored, what is sent.
PRIVACY = (
    f"**What this page stores:** `{COOKIE}`, a random number so that this notice does not "
    "come back and the feeds you add stay listed (the server keeps them under it), and "
    "`news_last_visit`, the time of your last visit, to mark the headlines that are new "
    "since; no other cookies, no advertising, no tracking. "
    "**What it sends:** nothing about you: usage statistics are switched off, and your "
    "keyword and filter choices stay in this browser tab and its link. The server fetches "
    "headlines from the news feeds listed above; a headline you open takes you to its "
    "publisher's site, which has its own policies."
)

# Continuing to use the page: a trusted click on a control, a change or typing, outside the
# bar, while the bar is shown. Sets the consent cookie (the next load has no bar) and hides
# the bar now (the class on <html> outlives Streamlit's redraws of the page).
_CONTINUE_SCRIPT = Template("""
(() => {
  if (window.npConsentWatch) return;
  window.npConsentWatch = true;
  const controls = "a, button, input, select, textarea, label, summary, [role=button], " +
    "[role=option], [role=radio], [role=switch], [role=tab], [role=combobox], .vega-embed";
  const agree = (event) => {
    if (!event.isTrusted || document.cookie.includes("${cookie}=")) return;
    const target = event.target instanceof Element ? event.target : null;
    if (!target || target.closest(".st-key-${bar}")) return;
    if (event.type === "click" && !target.closest(controls)) return;
    if (!document.querySelector(".st-key-${bar}")) return;
    document.cookie = "${cookie}=${browser}; ${attributes}";
    document.documentElement.classList.add("np-consented");
  };
  for (const type of ["click", "change", "input"]) {
    document.addEventListener(type, agree, true);
  }
})();
""")


def continue_script(browser: str) -> str:
    """`_CONTINUE_SCRIPT` writing `browser` (an id `browser_id` made: checked again here)."""
    if not _BROWSER_ID.fullmatch(browser):
        raise ValueError(f"not a browser id: {browser!r}")
    return _CONTINUE_SCRIPT.substitute(
        cookie=COOKIE, bar=BAR_KEY, attributes=_COOKIE_ATTRIBUTES, browser=browser
    )


def write_cookie(name: str, value: str) -> None:
    """Set a first-party cookie for a year, from a script of the page's own text only."""
    if not (_COOKIE_VALUE.fullmatch(name) and _COOKIE_VALUE.fullmatch(value)):
        raise ValueError(f"not a cookie this page writes: {name!r}={value!r}")
    st.html(
        f"<script>document.cookie = '{name}={value}; {_COOKIE_ATTRIBUTES}';</script>",
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
    into the cookie once the viewer agrees)."""
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


def consent_notice(page: str) -> None:
    """Show the bar until OK is clicked or the viewer continues; then write the cookie.

    `page` names the page being run: the first page the bar was shown on is remembered,
    and opening another one is continuing to use the site.
    """
    if not accepted():
        shown_on = st.session_state.setdefault("consent_page", page)
        if shown_on != page:
            _accept()
    # The cookie the server sees is the one the page was opened with, so it is written on
    # every run after agreeing until a reload brings it back (a script of a run cut short
    # by the next one may never run).
    write = st.session_state.pop("consent_write_cookie", False)
    if write or (st.session_state.get("consent_ok") and _cookie_id() != browser_id()):
        write_cookie(COOKIE, browser_id())
    if accepted():
        return
    with st.container(key=BAR_KEY, horizontal=True, vertical_alignment="center"):
        with st.container(key="consent-words"):  # one of the two shows (ui/page.css)
            st.markdown(NOTICE)
            st.markdown(NOTICE_SHORT)
        st.button("OK", key="consent-ok", type="primary", on_click=_accept)
        script = continue_script(browser_id())
        st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)
