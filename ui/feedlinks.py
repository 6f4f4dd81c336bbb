"""A feed address's parameters: the page link's (`ui/links.py`, the same names and values,
the same keyword syntax), read strictly. Where the page ignores a bad value with a notice,
a feed address answers 400 with the notice as its reason, and 404 for an unknown topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from lib.errors import QuerySyntaxError
from lib.feedview import View
from lib.model import Topic
from lib.query import parse_keyword
from lib.times import read_iso_time, usable
from ui.keys import END, GROUP, GROUPINGS, KEYWORD, KNOWN, PUB_MODE, PUBS, START, TOPIC, ZONE
from ui.links import link_values
from ui.sidebar import EXCEPT, ONLY, PUB_MODES, UTC_ZONE, ZONES


class Refused(Exception):
    """A request the address cannot answer: its status and a one-line reason."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})


def short(value: str, most: int = 80) -> str:
    """A value from a link, fit to be quoted in a one-line reason."""
    value = "".join(char if char.isprintable() else "?" for char in value)
    return value if len(value) <= most else value[: most - 1] + "…"


def _one(raw: Mapping[str, Sequence[str]], key: str, valid: Sequence[str] | None, what: str):
    """The link's one value for `key` (None when absent); 400 for a bad or repeated one."""
    good, notices = link_values(raw, key, valid, what)
    if notices:
        raise Refused(400, short(notices[0], 200))
    return good[0] if good else None


def read_topic(raw: Mapping[str, Sequence[str]], topics: Sequence[Topic]) -> Topic:
    """The topic a link names (the first topic when it names none); 404 for an unknown one."""
    by_slug = {topic.slug: topic for topic in topics}
    if len(set(raw.get(TOPIC, ()))) > 1:
        raise Refused(400, "Topic is given more than once")
    slug = next(iter(raw.get(TOPIC, ())), None)
    if slug is None:
        return topics[0]
    if slug not in by_slug:
        raise Refused(404, f"No topic “{short(slug)}”; known topics: {', '.join(by_slug)}")
    return by_slug[slug]


def read_view(raw: Mapping[str, Sequence[str]], topics: Sequence[Topic]) -> View:
    """The view a feed address asks for, with the page link's parameters; `Refused` (400 or
    404) for anything the page would ignore with a notice."""
    for key in raw:
        if key not in KNOWN:
            raise Refused(400, f"“{short(key)}” is not a setting of this page")
    topic = read_topic(raw, topics)
    mode = _one(raw, PUB_MODE, PUB_MODES, "Publication filter") or PUB_MODES[0]
    pubs, notices = link_values(raw, PUBS, None, "Publication", many=True)
    if notices:
        raise Refused(400, short(notices[0], 200))
    if pubs and mode not in (ONLY, EXCEPT):
        raise Refused(400, "Publications are given without pub_mode=only or pub_mode=except")
    zone_choice = _one(raw, ZONE, ZONES, "Time zone")
    # A server has no browser: "browser" reads as the topic's zone, as the page does
    # until the browser's zone is known.
    zone = ZoneInfo("UTC") if zone_choice == UTC_ZONE else ZoneInfo(topic.timezone)
    text = _one(raw, KEYWORD, None, "Keyword")
    keyword = None
    if text is not None:
        try:
            keyword = parse_keyword(text)
        except QuerySyntaxError as exc:
            raise Refused(400, f"Keyword not used: {exc.problem}") from exc
    span = None
    if START in raw or END in raw:
        start = read_iso_time(_one(raw, START, None, "Range start") or "")
        end = read_iso_time(_one(raw, END, None, "Range end") or "")
        if start is None or end is None or not (usable(start) and usable(end)) or start >= end:
            raise Refused(400, "The time range is not a valid from/to pair of ISO 8601 times")
        span = (start, end)
    grouped = (_one(raw, GROUP, GROUPINGS, "Grouping") or "on") == "on"
    return View(
        topic=topic,
        keyword=keyword,
        include=tuple(pubs) if mode == ONLY else (),
        exclude=tuple(pubs) if mode == EXCEPT else (),
        zone=zone,
        span=span,
        grouped=grouped,
    )
