"""The app's addresses for feed readers and monitoring, served beside the pages (see
`streamlit_app.py`): every view of the Headlines page as RSS 2.0 and JSON Feed 1.1, a topic's
sources as OPML, and the Sources page's state as JSON.

`/feed.rss` and `/feed.json` take the parameters of the page's own link (`ui/links.py`) and
list what the page lists for it (`lib.feedview`), newest first, at most `FEED_ITEMS`. Each
answer carries an ETag from the store's version and a Last-Modified from its newest stored
headline, so a reader that asks again gets 304 until a refresh stores something. A bad
parameter is 400 and an unknown topic 404, each with a one-line reason; each client may make
`NEWS_FEED_LIMIT` requests a minute (429 with Retry-After past it).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from lib.config import Settings, load_settings
from lib.diagnosis import source_health
from lib.errors import NewsError, QuerySyntaxError, StoreError
from lib.export import to_json_feed, to_rss
from lib.feedview import FEED_ITEMS, View, entity_tag, not_modified, view_stories
from lib.model import Topic
from lib.opml import to_opml
from lib.query import parse_keyword
from lib.ratelimit import RequestLimit
from lib.times import read_iso_time, usable
from ui import data
from ui.clock import now as clock_now
from ui.links import (
    END,
    GROUP,
    GROUPINGS,
    KEYWORD,
    KNOWN,
    PUB_MODE,
    PUBS,
    START,
    TOPIC,
    ZONE,
    link_values,
)
from ui.sidebar import EXCEPT, ONLY, PUB_MODES, UTC_ZONE, ZONES

RSS_TYPE = "application/rss+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
OPML_TYPE = "text/x-opml; charset=utf-8"
# Readers may reuse an answer for a minute, then ask again (a 304 while nothing changed).
CACHE_CONTROL = "public, max-age=60"
FORMAT = 1  # part of every ETag: a change to what the documents hold changes it

_LIMIT = RequestLimit()


class Refused(Exception):
    """A request the address cannot answer: its status and a one-line reason."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})


def _answer_refusal(refused: Refused) -> Response:
    # Plain text, never echoed as markup; a value from the link is cut short in the reason.
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **refused.headers}
    return PlainTextResponse(refused.reason + "\n", refused.status, headers=headers)


def _short(value: str, most: int = 80) -> str:
    value = "".join(char if char.isprintable() else "?" for char in value)
    return value if len(value) <= most else value[: most - 1] + "…"


def _params(request: Request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        found.setdefault(key, []).append(value)
    return found


def _one(raw: Mapping[str, Sequence[str]], key: str, valid: Sequence[str] | None, what: str):
    """The link's one value for `key` (None when absent); 400 for a bad or repeated one."""
    good, notices = link_values(raw, key, valid, what)
    if notices:
        raise Refused(400, _short(notices[0], 200))
    return good[0] if good else None


def _topic(raw: Mapping[str, Sequence[str]], topics: Sequence[Topic]) -> Topic:
    by_slug = {topic.slug: topic for topic in topics}
    if len(set(raw.get(TOPIC, ()))) > 1:
        raise Refused(400, "Topic is given more than once")
    slug = next(iter(raw.get(TOPIC, ())), None)
    if slug is None:
        return topics[0]
    if slug not in by_slug:
        raise Refused(404, f"No topic “{_short(slug)}”; known topics: {', '.join(by_slug)}")
    return by_slug[slug]


def read_view(raw: Mapping[str, Sequence[str]], topics: Sequence[Topic]) -> View:
    """The view a feed address asks for, with the page link's parameters; `Refused` (400 or
    404) for anything the page would ignore with a notice."""
    for key in raw:
        if key not in KNOWN:
            raise Refused(400, f"“{_short(key)}” is not a setting of this page")
    topic = _topic(raw, topics)
    mode = _one(raw, PUB_MODE, PUB_MODES, "Publication filter") or PUB_MODES[0]
    pubs, notices = link_values(raw, PUBS, None, "Publication", many=True)
    if notices:
        raise Refused(400, _short(notices[0], 200))
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


def _client(request: Request) -> str:
    # The peer's address: behind a proxy every viewer shares the proxy's (see the report).
    return request.client.host if request.client else "unknown"


def _start(request: Request) -> tuple[Settings, tuple[Topic, ...]]:
    """The settings and topics for a request, after the client's limit; `Refused` else."""
    try:
        config = load_settings()
    except NewsError as exc:
        raise Refused(503, f"The app cannot start: {exc}") from exc
    wait = _LIMIT.take(_client(request), time.monotonic(), config.feed_limit)
    if wait:
        raise Refused(
            429,
            f"Too many requests: at most {config.feed_limit} a minute; try again in {wait:g} s",
            {"Retry-After": f"{wait:g}"},
        )
    try:
        return config, data.topics(config)
    except NewsError as exc:
        raise Refused(503, f"The app cannot start: {exc}") from exc


# The newest stored headline's time per store and version: read once per store change, so
# a conditional request costs one version read.
_MODIFIED: dict[str, tuple[int, datetime | None]] = {}
_MODIFIED_LOCK = threading.Lock()


def _last_modified(db_path: str, version: int) -> datetime | None:
    with _MODIFIED_LOCK:
        held = _MODIFIED.get(db_path)
    if held is not None and held[0] == version:
        return held[1]
    stored = data.store(db_path).status().last_stored
    with _MODIFIED_LOCK:
        _MODIFIED[db_path] = (version, stored)
    return stored


def _if_modified_since(request: Request) -> datetime | None:
    raw = request.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None  # an unreadable date is ignored (RFC 9110 13.1.3)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _conditional(
    request: Request, config: Settings, parts: tuple[object, ...]
) -> tuple[dict[str, str], Response | None]:
    """The validators for what an address shows now, and a 304 when the request's match."""
    db_path = str(config.db_path)
    if config.offline:
        raise Refused(503, "Offline (NEWS_OFFLINE is set): the feed addresses are off")
    try:
        version = data.store(db_path).version()
        modified = _last_modified(db_path, version)
    except StoreError as exc:
        raise Refused(503, str(exc)) from exc
    tag = entity_tag(version, FORMAT, config.clock, *parts)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    asked = request.headers.get("if-none-match")
    if not_modified(tag, modified, asked, _if_modified_since(request)):
        return headers, Response(status_code=304, headers=headers)
    return headers, None


def _base(request: Request, config: Settings) -> str:
    """The app's public address, ending in "/": the setting, else the request's own."""
    return config.public_url or str(request.base_url)


def _feed(request: Request, kind: str) -> Response:
    """The view a request asks for as a feed of `kind` ("rss" or "json"), or a 304."""
    config, topics = _start(request)
    raw = _params(request)
    view = read_view(raw, topics)
    base = _base(request, config)
    query = urlencode([(key, value) for key, values in raw.items() for value in values])
    headers, unchanged = _conditional(request, config, (kind, base, query, view.topic))
    if unchanged is not None:
        return unchanged
    now = clock_now(config)
    db_path = str(config.db_path)
    index = data.topic_index(db_path, view.topic, now)
    stories = view_stories(view, index.indexed, index.grouping, now)
    # The index holds headlines without summaries; the store gives them back by guid.
    found = data.store(db_path).summaries([story.lead.guid for story in stories])
    stories = [
        replace(s, lead=replace(s.lead, summary=found.get(s.lead.guid, ""))) for s in stories
    ]
    tail = f"?{query}" if query else ""
    document = {
        "title": view.topic.title + (" (filtered view)" if set(raw) - {TOPIC} else ""),
        "link": f"{base}{tail}",  # the page's own link for the same view
        "description": f"The newest headlines of the {view.topic.title} page with the same "
        f"filters, at most {FEED_ITEMS}",
        "feed_url": f"{base}feed.{kind}{tail}",
    }
    if kind == "rss":
        return Response(to_rss(stories, now=now, **document), headers=headers, media_type=RSS_TYPE)
    return Response(to_json_feed(stories, **document), headers=headers, media_type=JSON_FEED_TYPE)


def _guarded(answer: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """`answer`, with a refusal or a store that cannot be read answered in one line."""

    def run(request: Request) -> Response:
        try:
            return answer(request)
        except Refused as refused:
            return _answer_refusal(refused)
        except StoreError as exc:
            return _answer_refusal(Refused(503, str(exc)))

    run.__doc__ = answer.__doc__
    return run


@_guarded
def feed_rss(request: Request) -> Response:
    """`/feed.rss?<the page link's parameters>`: the view as RSS 2.0."""
    return _feed(request, "rss")


@_guarded
def feed_json(request: Request) -> Response:
    """`/feed.json?<the page link's parameters>`: the view as JSON Feed 1.1."""
    return _feed(request, "json")


def _topic_only(request: Request) -> tuple[Settings, Topic]:
    config, topics = _start(request)
    raw = _params(request)
    for key in raw:
        if key != TOPIC:
            raise Refused(400, f"“{_short(key)}” is not a setting of this address (only topic)")
    return config, _topic(raw, topics)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@_guarded
def sources_opml(request: Request) -> Response:
    """`/sources.opml?topic=slug`: the topic's feeds as OPML 2.0, for a feed reader."""
    _, topic = _topic_only(request)
    body = to_opml(f"{topic.title}: sources", [(s.name, s.url) for s in topic.sources])
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "Content-Disposition": f'inline; filename="{topic.slug}.opml"',
    }
    return Response(body.encode("utf-8"), headers=headers, media_type=OPML_TYPE)


@_guarded
def sources_status(request: Request) -> Response:
    """`/sources.json?topic=slug`: the Sources page's table as JSON, for monitoring: one
    record per feed (times ISO 8601 UTC), and how many are failing or not fetched yet."""
    config, topic = _topic_only(request)
    if config.offline:
        raise Refused(503, "Offline (NEWS_OFFLINE is set): no feed is fetched")
    now = clock_now(config)
    db_path = str(config.db_path)
    states = data.store(db_path).feed_states([source.url for source in topic.sources])
    index = data.topic_index(db_path, topic, now)
    kept = Counter(entry.headline.source for entry in index.indexed)
    rows = source_health(topic.sources, states, kept, now, _iso)
    statuses = [str(row["Status"]) for row in rows]
    answer = {
        "topic": topic.slug,
        "checked_at": _iso(now),
        "store_version": index.version,
        "sources": len(rows),
        "failing": sum(status.startswith(("failing", "stale")) for status in statuses),
        "not_fetched": sum(status == "not fetched yet" for status in statuses),
        "feeds": [
            {key.lower().replace(" ", "_"): value for key, value in row.items()} for row in rows
        ],
    }
    return JSONResponse(answer, headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/feed.rss", feed_rss, methods=["GET", "HEAD"]),
    Route("/feed.json", feed_json, methods=["GET", "HEAD"]),
    Route("/sources.opml", sources_opml, methods=["GET", "HEAD"]),
    Route("/sources.json", sources_status, methods=["GET", "HEAD"]),
]
