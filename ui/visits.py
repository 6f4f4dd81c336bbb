"""What the list marks new: headlines since this browser's previous visit (remembered in a
cookie), and headlines stored while the page was open (remembered in the session).

The cookie holds one ISO time written by the page itself, and is only set after the viewer
accepted the consent notice. The previous visit is read once per session, so the mark stays
put while the viewer filters, and the new visit is written once per session.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, tzinfo

import streamlit as st

from lib.buckets import format_moment
from lib.errors import StoreError
from lib.stories import Story
from lib.times import iso_z, read_iso_time, usable
from ui.consent import accepted, write_cookie

COOKIE = "news_last_visit"


def last_visit_from_cookie(raw: object) -> datetime | None:
    """The time a last-visit cookie holds, or None for anything this page did not write.

    A cookie can be edited: any text must give None or a time the page can convert and
    compare without running out of calendar (0001-01-01T00:00+14:00 once stopped the page).
    """
    moment = read_iso_time(raw)
    return moment if moment is not None and usable(moment) else None


def previous_visit(now: datetime) -> datetime | None:
    """When this browser last opened the page (None on a first visit); notes this visit."""
    if "previous_visit" not in st.session_state:
        st.session_state["previous_visit"] = last_visit_from_cookie(st.context.cookies.get(COOKIE))
        st.session_state["this_visit"] = now
    if accepted() and not st.session_state.get("visit_written"):
        st.session_state["visit_written"] = True
        write_cookie(COOKIE, iso_z(st.session_state["this_visit"]))
    return st.session_state["previous_visit"]


def arrived_while_open(
    slug: str, version: int, read_after: Callable[[int], Iterable[str]]
) -> frozenset[str]:
    """The guids of headlines stored since this session first drew `slug`'s page (at the
    store's `version` then): the page marks them new, like those since the last visit,
    whenever they were published (a feed can be hours late). `read_after(v)` gives the
    guids stored after version `v` (`Store.headlines_after`; raises StoreError); it is
    called only when the store moved since the last run, for what is new since then."""
    key = f"arrived:{slug}"
    held: tuple[int, frozenset[str]] | None = st.session_state.get(key)
    if held is None or version < held[0]:  # first drawn now, or another store file
        held = (version, frozenset())
    elif version > held[0]:
        try:
            held = (version, held[1] | frozenset(read_after(held[0])))
        except StoreError:  # failed since the page read it: read them on a later run
            return held[1]
    st.session_state[key] = held
    return held[1]


def mark_new(
    stories: Sequence[Story],
    now: datetime,
    zone: tzinfo,
    arrived: Collection[str],
    *,
    visits: bool = True,
) -> datetime | None:
    """Say how many of `stories` are marked new: those with a headline published since the
    previous visit (when `visits`: not for a snapshot) and those with one of `arrived`
    (`arrived_while_open`). Returns the previous visit, for the marks."""
    since = previous_visit(now) if visits else None
    fresh = sum(1 for story in stories if story.newest > since) if since else 0
    live = 0
    if arrived:  # a plain pass over every headline shown (no call per story); none when
        arrived = frozenset(arrived)  # nothing arrived
        for story in stories:
            if since and story.newest > since:
                continue
            if story.lead.guid in arrived:
                live += 1
                continue
            for item in story.others:
                if item.guid in arrived:
                    live += 1
                    break
    notes = []
    if fresh:
        notes.append(f"{fresh} new since your last visit at {format_moment(since, zone)}")
    if live:
        notes.append(f"{live} arrived while this page was open")
    if notes:
        st.html(f'<div class="np-new-note">{", ".join(notes)}, marked in blue</div>')
    return since
