"""The setup every page runs first: page config, consent notice, settings and topic.

Every page calls `setup()` itself, because a first deep link to a page on a freshly
started server runs that page's file alone, without the entry script (FIELD-NOTES).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from lib.config import Settings, find_topic
from lib.errors import ConfigError, NewsError
from lib.model import Topic
from lib.render import literal_markdown
from ui import data
from ui.a11y import hide_unnamed_chart_marks
from ui.consent import consent_notice
from ui.keys import TOPIC
from ui.links import (
    SWITCHED,
    history_navigation,
    raw_params,
    seed_from_link,
    unknown_params,
    write_link,
)

HEADLINES = "Headlines"

# The page's CSS, for the classes lib/render.py writes; read once, as the file is shipped with ui/.
STYLE = f"<style>\n{Path(__file__).with_name('page.css').read_text(encoding='utf-8')}</style>"


@dataclass(frozen=True, slots=True)
class PageContext:
    """What a page needs to draw: the settings, every topic, and the chosen one."""

    settings: Settings
    topics: tuple[Topic, ...]
    topic: Topic
    link: dict[str, list[str]]  # the URL's parameters when `restore`, else empty
    notices: list[str]  # what the link asked that the page cannot do
    restore: bool = False  # Back or Forward: the link's view replaces the one on screen


def page_title(page: str, topic: Topic) -> str:
    """The browser tab's title: the topic's for its headlines, else the page and the topic."""
    return topic.title if page == HEADLINES else f"{page} - {topic.title}"


def setup(page: str) -> PageContext:
    """Configure the page, show the consent notice, load settings and the topic.

    A broken topics file or environment stops the page with one clear message.
    """
    st.set_page_config(page_title=page, layout="wide")
    # The URL a session opens with is a link to restore, and so is the one Back or Forward
    # brings back; otherwise the widgets lead.
    restore = history_navigation()
    link = raw_params() if restore or not st.session_state.get("_session_seen") else {}
    st.session_state["_session_seen"] = True
    st.html(STYLE)
    hide_unnamed_chart_marks()
    consent_notice(page)
    try:
        config = data.settings()
        topics = data.topics(config)
        notices = unknown_params(link)
        if restore and TOPIC not in link:
            st.session_state[TOPIC] = topics[0].slug  # the entry was on the default topic
        topic = _choose_topic(topics, link, notices)
    except ConfigError as exc:
        st.error(literal_markdown(f"The page cannot start: {exc}. Fix it and reload the page."))
        st.stop()
    except NewsError as exc:  # pragma: no cover - any other lib error at start-up
        st.error(literal_markdown(f"The page cannot start: {exc}"))
        st.stop()
    st.set_page_config(page_title=page_title(page, topic))
    if page != HEADLINES:  # the Headlines page writes its whole view (ui/links.py)
        write_link({TOPIC: topic.slug}, {TOPIC: topics[0].slug})
    return PageContext(
        settings=config, topics=topics, topic=topic, link=link, notices=notices, restore=restore
    )


def _note_switch() -> None:
    st.session_state[SWITCHED] = True


def _choose_topic(
    topics: tuple[Topic, ...], link: dict[str, list[str]], notices: list[str]
) -> Topic:
    """The topic switcher (when there are several topics), bound to the URL's `topic`."""
    by_slug = {topic.slug: topic for topic in topics}
    notices += seed_from_link(link, TOPIC, by_slug, "Topic")
    if len(topics) == 1:
        return topics[0]
    slug = st.sidebar.selectbox(
        "Topic",
        list(by_slug),
        format_func=lambda slug: by_slug[slug].title,
        key=TOPIC,
        persist_state="session",
        on_change=_note_switch,
    )
    return find_topic(topics, slug)
