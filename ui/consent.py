"""The consent notice: a compact bar fixed at the bottom of every page, until the viewer
clicks OK or continues to use the page (which the notice says counts as agreeing).

Either way one first-party cookie is set, so the notice stays gone on reload in the same
browser. The cookie is read back from the request (`st.context.cookies`); the scripts that
set it are fixed strings, never feed content. Continuing is seen in two places: the server
sees the viewer open another page of the app; the page itself (`CONTINUE_SCRIPT`) sees a
click, a change or typing in any control outside the bar (a filter, a link, the chart), sets
the cookie and hides the bar at once. Scrolling and reading do not count.
"""

from __future__ import annotations

import re
from string import Template

import streamlit as st

COOKIE = "news_consent"
_ONE_YEAR = 365 * 24 * 3600
# What a cookie this page writes may hold: its own fixed values and ISO times, never quotes.
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9:._-]+")
BAR_KEY = "consent-notice"  # the bar's container (CSS class st-key-consent-notice)

NOTICE = (
    'By clicking "OK" or continuing to use this page, you agree to its two cookies: '
    f"`{COOKIE}` (this notice stays away) and `news_last_visit` (to mark what is new). "
    "No other cookies, no ads, no tracking, no usage statistics; more on the About page."
)
# The whole story, on the About page: what is stored, what is sent.
PRIVACY = (
    f"**What this page stores:** `{COOKIE}`, so that the cookie notice does not come back, "
    "and `news_last_visit`, the time of your last visit, to mark the headlines that are new "
    "since; no other cookies, no advertising, no tracking. "
    "**What it sends:** nothing about you: usage statistics are switched off, and your "
    "keyword and filter choices stay in this browser tab and its link. The server fetches "
    "headlines from the news feeds listed above; a headline you open takes you to its "
    "publisher's site, which has its own policies."
)

# Continuing to use the page: a trusted click on a control, a change or typing, outside the
# bar, while the bar is shown. Sets the consent cookie (the next load has no bar) and hides
# the bar now (the class on <html> outlives Streamlit's redraws of the page).
CONTINUE_SCRIPT = Template("""
(() => {
  if (window.npConsentWatch) return;
  window.npConsentWatch = true;
  const controls = "a, button, input, select, textarea, label, summary, [role=button], " +
    "[role=option], [role=radio], [role=switch], [role=tab], [role=combobox], .vega-embed";
  const agree = (event) => {
    if (!event.isTrusted || document.cookie.includes("${cookie}=1")) return;
    const target = event.target instanceof Element ? event.target : null;
    if (!target || target.closest(".st-key-${bar}")) return;
    if (event.type === "click" && !target.closest(controls)) return;
    if (!document.querySelector(".st-key-${bar}")) return;
    document.cookie = "${cookie}=1; Max-Age=${age}; Path=/; SameSite=Lax";
    document.documentElement.classList.add("np-consented");
  };
  for (const type of ["click", "change", "input"]) {
    document.addEventListener(type, agree, true);
  }
})();
""").substitute(cookie=COOKIE, bar=BAR_KEY, age=_ONE_YEAR)


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


def consent_notice(page: str) -> None:
    """Show the bar until OK is clicked or the viewer continues; then write the cookie once.

    `page` names the page being run: the first page the bar was shown on is remembered,
    and opening another one is continuing to use the site.
    """
    if not accepted():
        shown_on = st.session_state.setdefault("consent_page", page)
        if shown_on != page:
            _accept()
    if st.session_state.pop("consent_write_cookie", False):
        write_cookie(COOKIE, "1")
    if accepted():
        return
    with st.container(key=BAR_KEY, horizontal=True, vertical_alignment="center"):
        st.markdown(NOTICE)
        st.button("OK", key="consent-ok", type="primary", on_click=_accept)
        st.html(f"<script>{CONTINUE_SCRIPT}</script>", unsafe_allow_javascript=True)
