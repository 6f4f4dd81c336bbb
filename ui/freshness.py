"""The freshness line over the headlines: when they were updated, what failed, Refresh now."""

from __future__ import annotations

from datetime import datetime, tzinfo

import streamlit as st

from lib.buckets import format_moment
from lib.config import Settings
from lib.model import Topic
from lib.refresh import RefreshReport
from lib.render import literal_markdown
from ui import data

SHOWN_FAILURES = 4  # more than this are counted, not listed


def freshness_line(
    status: st.delta_generator.DeltaGenerator,
    report: RefreshReport,
    config: Settings,
    topic: Topic,
    zone: tzinfo,
    now: datetime,
) -> None:
    """When the page was updated, a refresh button, and which sources failed and since when."""
    left, right = status.columns([5, 1], vertical_alignment="center")
    total = len(report.sources)
    failed = report.failed
    if failed:
        listed = failed[:SHOWN_FAILURES]
        names = ", ".join(f"{r.source.name} ({r.error or 'failed'})" for r in listed)
        more = f" and {len(failed) - len(listed)} more" if len(failed) > len(listed) else ""
        left.warning(
            literal_markdown(
                f"{len(failed)} of {total} sources failed: {names}{more}. "
                "Their earlier headlines are still shown."
            ),
            icon=":material/warning:",
        )
        states = data.store(str(config.db_path)).feed_states([r.source.url for r in listed])
        for r in listed:
            since = states[r.source.url].last_success
            stale = f"showing headlines from {format_moment(since, zone)}; " if since else ""
            wait = r.waiting_until
            later = f"; next try {format_moment(wait, zone)}" if wait and wait > now else ""
            line = f"{r.source.name}: {stale}last attempt failed: {r.error}{later}"
            left.caption(literal_markdown(line))
        left.page_link("pages/sources.py", label="See Sources for details and what to do")
    noun = "source" if total == 1 else "sources"
    left.caption(f"Updated {format_moment(report.finished_at, zone)} · {total} {noun}")
    if right.button(
        "Refresh now",
        key="refresh",
        disabled=not data.refresh_allowed(report, now),
        help="Fetch every source again (at most once every 30 seconds).",
    ):
        data.forget_refresh(config, topic)
        st.rerun()
