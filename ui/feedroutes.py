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

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from lib.config import Settings, load_settings, load_topics
from lib.diagnosis import source_health
from lib.errors import NewsError, StoreError
from lib.export import to_json_feed, to_rss
from lib.feedview import (
    FEED_ITEMS,
    KeptDocuments,
    View,
    entity_tag,
    not_modified,
    view_stories,
)
from lib.model import Topic
from lib.opml import to_opml
from lib.ratelimit import RequestLimit
from lib.store import Store
from lib.times import iso_z
from ui import data
from ui.clock import now as clock_now
from ui.feedlinks import Refused, read_topic, read_view, short
from ui.keys import TOPIC

RSS_TYPE = "application/rss+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
OPML_TYPE = "text/x-opml; charset=utf-8"
# Readers may reuse an answer for a minute, then ask again (a 304 while nothing changed).
CACHE_CONTROL = "public, max-age=60"
FORMAT = 1  # part of every ETag: a change to what the documents hold changes it

_LIMIT = RequestLimit()


def _answer_refusal(refused: Refused) -> Response:
    # Plain text, never echoed as markup; a value from the link is cut short in the reason.
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **refused.headers}
    return PlainTextResponse(refused.reason + "\n", refused.status, headers=headers)


def _params(request: Request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        found.setdefault(key, []).append(value)
    return found


def _client(request: Request) -> str:
    # The peer's address: behind a proxy, every viewer shares the proxy's address and limit
    # (X-Forwarded-For is not read: any client can write it).
    return request.client.host if request.client else "unknown"


@functools.cache
def _settings() -> Settings:
    # The environment of a running server does not change: read once (a failure is not
    # kept, and is read again on the next request).
    return load_settings()


_TOPICS: dict[tuple[str, int], tuple[Topic, ...]] = {}


def _topics(config: Settings) -> tuple[Topic, ...]:
    """The topics file's topics, read again when the file changes (`ui.data.topics` does
    the same for the pages, but hands out a pickled copy: 0.7 ms a request)."""
    path = config.topics_path
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        key = (str(path), 0)  # load_topics says what is wrong with it
    found = _TOPICS.get(key)
    if found is None:
        found = load_topics(path)
        _TOPICS.clear()
        _TOPICS[key] = found
    return found


def _start(request: Request) -> tuple[Settings, tuple[Topic, ...]]:
    """The settings and topics for a request, after the client's limit; `Refused` else."""
    try:
        config = _settings()
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
        return config, _topics(config)
    except NewsError as exc:
        raise Refused(503, f"The app cannot start: {exc}") from exc


# The newest stored headline's time per store and version: read once per store change, so
# a conditional request costs one version read.
_MODIFIED: dict[str, tuple[int, datetime | None]] = {}
_MODIFIED_LOCK = threading.Lock()


_STORES: dict[str, Store] = {}


def _store(db_path: str) -> Store:
    """The pages' store (`ui.data.store`), held here too: asking Streamlit's resource cache
    costs more than the version read itself."""
    found = _STORES.get(db_path)
    if found is None:
        found = _STORES[db_path] = data.store(db_path)
    return found


def _held_modified(db_path: str, version: int) -> tuple[bool, datetime | None]:
    """Whether the newest stored headline's time is known for `version`, and that time."""
    with _MODIFIED_LOCK:
        held = _MODIFIED.get(db_path)
    if held is not None and held[0] == version:
        return True, held[1]
    return False, None


def _last_modified(db_path: str, version: int) -> datetime | None:
    known, modified = _held_modified(db_path, version)
    if known:
        return modified
    stored = _store(db_path).status().last_stored
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
    request: Request, config: Settings, parts: tuple[object, ...], *, blocking: bool = True
) -> tuple[dict[str, str], Response | None] | None:
    """The validators for what an address shows now, and a 304 when the request's match.
    Not `blocking`: None when that needs more than the version read (the store changed
    since the last request, so its newest headline's time is read)."""
    db_path = str(config.db_path)
    if config.offline:
        raise Refused(503, "Offline (NEWS_OFFLINE is set): the feed addresses are off")
    try:
        version = _store(db_path).version()
        if blocking:
            modified = _last_modified(db_path, version)
        else:
            known, modified = _held_modified(db_path, version)
            if not known:
                return None
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


# A reader polling an address without validators gets the document made for the same ETag
# in the last minute (as long as Cache-Control lets it keep one).
_ANSWERS = KeptDocuments(seconds=60.0)


def _base(request: Request, config: Settings) -> str:
    """The app's public address, ending in "/": the setting, else the request's own."""
    return config.public_url or str(request.base_url)


@dataclass(frozen=True, slots=True)
class _Asked:
    """A feed request, read: what it asks for and the addresses it names."""

    request: Request
    kind: str  # "rss" or "json"
    config: Settings
    view: View
    base: str
    query: str  # the link's parameters, as given
    filtered: bool  # anything asked but the topic

    @property
    def parts(self) -> tuple[object, ...]:
        """What the document depends on besides the store (see `entity_tag`)."""
        return (self.kind, self.base, self.query, self.view.topic)

    @property
    def media_type(self) -> str:
        return RSS_TYPE if self.kind == "rss" else JSON_FEED_TYPE


def _ask(request: Request, kind: str) -> _Asked:
    """Read a feed request (the client's limit first); `Refused` for what cannot be asked."""
    config, topics = _start(request)
    raw = _params(request)
    view = read_view(raw, topics)
    query = urlencode([(key, value) for key, values in raw.items() for value in values])
    return _Asked(
        request, kind, config, view, _base(request, config), query, bool(set(raw) - {TOPIC})
    )


def _answer_held(asked: _Asked) -> Response | None:
    """A 304 or the document kept for the same ETag, when the version read is all it takes."""
    found = _conditional(asked.request, asked.config, asked.parts, blocking=False)
    if found is None:
        return None
    headers, unchanged = found
    if unchanged is not None:
        return unchanged
    kept = _ANSWERS.get(headers["ETag"], time.monotonic())
    return None if kept is None else Response(kept, headers=headers, media_type=asked.media_type)


def _answer(asked: _Asked) -> Response:
    """The view as a feed, or a 304 (reads the store: run it in a worker thread)."""
    found = _conditional(asked.request, asked.config, asked.parts)
    assert found is not None
    headers, unchanged = found
    if unchanged is not None:
        return unchanged
    kept = _ANSWERS.get(headers["ETag"], time.monotonic())
    if kept is not None:
        return Response(kept, headers=headers, media_type=asked.media_type)
    config, view = asked.config, asked.view
    now = clock_now(config)
    db_path = str(config.db_path)
    index = data.topic_index(db_path, view.topic, now)
    stories = view_stories(view, index.indexed, index.grouping, now)
    # The index holds headlines without summaries; the store gives them back by guid.
    found_summaries = _store(db_path).summaries([story.lead.guid for story in stories])
    stories = [
        replace(s, lead=replace(s.lead, summary=found_summaries.get(s.lead.guid, "")))
        for s in stories
    ]
    tail = f"?{asked.query}" if asked.query else ""
    document = {
        "title": view.topic.title + (" (filtered view)" if asked.filtered else ""),
        "link": f"{asked.base}{tail}",  # the page's own link for the same view
        "description": f"The newest headlines of the {view.topic.title} page with the same "
        f"filters, at most {FEED_ITEMS}",
        "feed_url": f"{asked.base}feed.{asked.kind}{tail}",
    }
    if asked.kind == "rss":
        body = to_rss(stories, now=now, **document)
    else:
        body = to_json_feed(stories, **document)
    _ANSWERS.put(headers["ETag"], body, time.monotonic())
    return Response(body, headers=headers, media_type=asked.media_type)


async def _feed(request: Request, kind: str) -> Response:
    """The view a request asks for as a feed of `kind`, or a 304, or a one-line refusal.

    On the server's event loop while a version read answers it (a 304, or a document made
    for the same ETag a moment ago); in a worker thread when the view must be made.
    """
    try:
        asked = _ask(request, kind)
        held = _answer_held(asked)
        if held is not None:
            return held
        return await run_in_threadpool(_answer, asked)
    except Refused as refused:
        return _answer_refusal(refused)
    except StoreError as exc:
        return _answer_refusal(Refused(503, str(exc)))


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


async def feed_rss(request: Request) -> Response:
    """`/feed.rss?<the page link's parameters>`: the view as RSS 2.0."""
    return await _feed(request, "rss")


async def feed_json(request: Request) -> Response:
    """`/feed.json?<the page link's parameters>`: the view as JSON Feed 1.1."""
    return await _feed(request, "json")


def _topic_only(request: Request) -> tuple[Settings, Topic]:
    config, topics = _start(request)
    raw = _params(request)
    for key in raw:
        if key != TOPIC:
            raise Refused(400, f"“{short(key)}” is not a setting of this address (only topic)")
    return config, read_topic(raw, topics)


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
    states = _store(db_path).feed_states([source.url for source in topic.sources])
    index = data.topic_index(db_path, topic, now)
    kept = Counter(entry.headline.source for entry in index.indexed)
    rows = source_health(topic.sources, states, kept, now, iso_z)
    statuses = [str(row["Status"]) for row in rows]
    answer = {
        "topic": topic.slug,
        "checked_at": iso_z(now),
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
