"""The setup every page runs first: page config, consent notice, settings and topic.

Every page calls `setup()` itself, because a first deep link to a page on a freshly
started server runs that page's file alone, without the entry script (FIELD-NOTES).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lib.config import Settings, find_topic
from lib.errors import ConfigError, NewsError
from lib.model import Topic
from lib.render import STYLE
from ui import data
from ui.consent import consent_notice


@dataclass(frozen=True, slots=True)
class PageContext:
    """What a page needs to draw: the settings, every topic, and the chosen one."""

    settings: Settings
    topics: tuple[Topic, ...]
    topic: Topic


def setup(page_title: str) -> PageContext:
    """Configure the page, show the consent notice, load settings and the topic.

    A broken topics file or environment stops the page with one clear message.
    """
    st.set_page_config(page_title=page_title, layout="wide")
    st.html(STYLE)
    consent_notice()
    try:
        config = data.settings()
        topics = data.topics(config)
        slug = st.query_params.get("topic")
        known = {topic.slug for topic in topics}
        topic = find_topic(topics, slug if slug in known else None)
    except ConfigError as exc:
        st.error(f"The page cannot start: {exc}. Fix it and reload the page.")
        st.stop()
    except NewsError as exc:  # pragma: no cover - any other lib error at start-up
        st.error(f"The page cannot start: {exc}")
        st.stop()
    return PageContext(settings=config, topics=topics, topic=topic)
