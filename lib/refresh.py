"""One refresh of a topic: fetch every source, parse what changed, store, prune.

A source that fails keeps what it delivered before: its headlines stay in the store and
only its feed state records the failure. Bytes identical to the last parsed body are not
parsed again (a server that ignores conditional GET costs a hash, not a parse).

Hosts are never hammered: a Retry-After (429/503) is honoured, and a feed that keeps
failing is tried less and less often (5 min, 10 min, … up to 2 h), whoever asks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests

from lib.errors import ParseError
from lib.fetch import FetchLimits, FetchResult, FetchStatus, Validators, fetch_all
from lib.model import Source, Topic
from lib.parse import parse_feed
from lib.store import FeedState, Store

MAX_RETRY_AFTER = timedelta(hours=6)  # a server's Retry-After beyond this is not believed
TOO_MANY_REQUESTS_PAUSE = timedelta(minutes=10)  # a 429 that does not say how long
BACKOFF_START = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=2)


def retry_time(
    failures: int, http_status: int | None, retry_after: float | None, now: datetime
) -> datetime | None:
    """When a feed that has now failed `failures` times in a row may be asked again.

    None means at the next refresh: a single failure is usually passing.
    """
    if retry_after is not None:
        return now + min(timedelta(seconds=max(retry_after, 0)), MAX_RETRY_AFTER)
    if http_status == 429:
        return now + TOO_MANY_REQUESTS_PAUSE
    if failures <= 1:
        return None
    return now + min(BACKOFF_START * 2 ** (failures - 2), BACKOFF_MAX)


@dataclass(frozen=True, slots=True)
class SourceReport:
    """How one source fared in one refresh."""

    source: Source
    status: FetchStatus
    http_status: int | None = None
    items: int | None = None  # items in the body parsed this time (None: nothing parsed)
    new: int = 0  # headlines stored for the first time
    error: str | None = None
    warning: str | None = None  # partly readable: what was kept and why
    elapsed_ms: float = 0.0
    parsed: bool = False  # False for 304s and for bodies identical to the last one
    waiting_until: datetime | None = None  # not asked this time: backing off until then

    @property
    def ok(self) -> bool:
        """The source answered with a feed (new or unchanged)."""
        return self.status is not FetchStatus.FAILED


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """The outcome of refreshing one topic."""

    topic: str
    finished_at: datetime
    sources: tuple[SourceReport, ...]

    @property
    def failed(self) -> tuple[SourceReport, ...]:
        """The sources that failed this time."""
        return tuple(report for report in self.sources if not report.ok)

    @property
    def new(self) -> int:
        """Headlines stored for the first time."""
        return sum(report.new for report in self.sources)

    @property
    def any_ok(self) -> bool:
        """At least one source answered."""
        return any(report.ok for report in self.sources)

    @property
    def unreachable(self) -> bool:
        """No source answered at all, and none with an HTTP status: the network is down."""
        return all(not r.ok and r.http_status is None for r in self.sources)


def _waiting(source: Source, state: FeedState) -> SourceReport:
    """The report of a source not asked this time because it is backing off."""
    return SourceReport(
        source=source,
        status=FetchStatus.FAILED,
        http_status=state.http_status,
        error=state.last_error,
        waiting_until=state.retry_at,
    )


def _fail(
    source: Source, result: FetchResult, store: Store, state: FeedState, now: datetime, error: str
) -> SourceReport:
    """Record a failure with its backoff; what the feed gave before stays stored."""
    retry_at = retry_time(state.failures + 1, result.http_status, result.retry_after, now)
    store.record_failure(
        source.url,
        now,
        error=error,
        http_status=result.http_status,
        elapsed_ms=result.elapsed_ms,
        retry_at=retry_at,
    )
    return SourceReport(
        source=source,
        status=FetchStatus.FAILED,
        http_status=result.http_status,
        error=error,
        elapsed_ms=result.elapsed_ms,
        waiting_until=retry_at,
    )


def _absorb(
    source: Source, result: FetchResult, store: Store, state: FeedState, now: datetime
) -> SourceReport:
    """Turn one fetch result into stored headlines and a feed-state update."""
    common = {"source": source, "http_status": result.http_status, "elapsed_ms": result.elapsed_ms}
    if result.status is FetchStatus.FAILED:
        return _fail(source, result, store, state, now, result.error or "failed")
    validators = result.validators
    body = result.body or b""
    # A 304, or a body identical to the last one parsed, costs no parse.
    unchanged = result.status is FetchStatus.NOT_MODIFIED
    digest = None if unchanged else hashlib.sha256(body).hexdigest()
    if unchanged or digest == state.body_hash:
        store.record_success(
            source.url,
            now,
            status=str(FetchStatus.NOT_MODIFIED),
            http_status=result.http_status,
            elapsed_ms=result.elapsed_ms,
            etag=validators.etag,
            last_modified=validators.last_modified,
        )
        return SourceReport(status=FetchStatus.NOT_MODIFIED, **common)
    try:
        parsed = parse_feed(
            body,
            url=result.final_url or source.url,
            seen_at=now,
            source=source,
            content_type=result.content_type,
        )
    except ParseError as exc:
        return _fail(source, result, store, state, now, exc.problem)
    new = store.save(parsed.headlines, now)
    store.record_success(
        source.url,
        now,
        status=str(FetchStatus.OK),
        http_status=result.http_status,
        elapsed_ms=result.elapsed_ms,
        etag=validators.etag,
        last_modified=validators.last_modified,
        body_hash=digest,
        feed_title=parsed.feed_title,
        items=len(parsed.headlines),
    )
    return SourceReport(
        status=FetchStatus.OK,
        items=len(parsed.headlines),
        new=new,
        warning=parsed.problem,
        parsed=True,
        **common,
    )


def refresh_sources(
    topic_slug: str,
    sources: Sequence[Source],
    store: Store,
    now: datetime,
    limits: FetchLimits | None = None,
    on_done: Callable[[FetchResult], None] | None = None,
    session: requests.Session | None = None,
    on_plan: Callable[[int], None] | None = None,
    untrusted: Collection[str] = (),
    allow_private: bool = False,
) -> RefreshReport:
    """Fetch `sources` concurrently, store what is new, prune the window, report per source.

    Sources backing off (Retry-After, repeated failures) are not asked; `on_plan` is told
    how many will be, before the first request. URLs in `untrusted` (typed by a viewer) may
    not reach private or loopback addresses unless `allow_private`.
    """
    states = store.feed_states([source.url for source in sources])
    due = [s for s in sources if not _backing_off(states[s.url], now)]
    if on_plan:
        on_plan(len(due))
    validators = {
        s.url: Validators(etag=states[s.url].etag, last_modified=states[s.url].last_modified)
        for s in due
    }
    results = fetch_all(
        [s.url for s in due],
        validators,
        limits or FetchLimits(),
        on_done=on_done,
        session=session,
        untrusted=untrusted,
        allow_private=allow_private,
    )
    fetched = {
        source.url: _absorb(source, result, store, states[source.url], now)
        for source, result in zip(due, results, strict=True)
    }
    reports = tuple(fetched.get(s.url) or _waiting(s, states[s.url]) for s in sources)
    store.prune(now)
    return RefreshReport(topic=topic_slug, finished_at=now, sources=reports)


def _backing_off(state: FeedState, now: datetime) -> bool:
    return state.retry_at is not None and state.retry_at > now


def refresh_topic(
    topic: Topic,
    store: Store,
    now: datetime,
    limits: FetchLimits | None = None,
    on_done: Callable[[FetchResult], None] | None = None,
    session: requests.Session | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> RefreshReport:
    """Refresh every source of `topic`."""
    return refresh_sources(topic.slug, topic.sources, store, now, limits, on_done, session, on_plan)
