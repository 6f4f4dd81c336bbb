"""New since last visit: this browser's previous visit, remembered in a cookie.

The cookie holds one ISO time written by the page itself, and is only set after the viewer
accepted the consent notice. The previous visit is read once per session, so the mark stays
put while the viewer filters, and the new visit is written once per session.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from ui.consent import accepted

COOKIE = "news_last_visit"
_ONE_YEAR = 365 * 24 * 3600


def _read(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw or len(raw) > 40:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def previous_visit(now: datetime) -> datetime | None:
    """When this browser last opened the page (None on a first visit); notes this visit."""
    if "previous_visit" not in st.session_state:
        st.session_state["previous_visit"] = _read(st.context.cookies.get(COOKIE))
        st.session_state["this_visit"] = now
    if accepted() and not st.session_state.get("visit_written"):
        st.session_state["visit_written"] = True
        stamp = st.session_state["this_visit"].strftime("%Y-%m-%dT%H:%M:%SZ")  # no quotes inside
        st.html(
            f"<script>document.cookie = '{COOKIE}={stamp}; Max-Age={_ONE_YEAR}; Path=/; "
            "SameSite=Lax';</script>",
            unsafe_allow_javascript=True,
        )
    return st.session_state["previous_visit"]
