"""One refresh of a topic: fetch every source, parse what changed, store, prune.

A source that fails keeps what it delivered before: its headlines stay in the store and
only its feed state records the failure. Bytes identical to the last parsed body are not
parsed again (a server that ignores conditional GET costs a hash, not a parse).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import requests

from lib.errors import ParseError
from lib.fetch import FetchLimits, FetchResult, FetchStatus, Validators, fetch_all
from lib.model import Source, Topic
from lib.parse import parse_feed
from lib.store import Store


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


def _absorb(
    source: Source, result: FetchResult, store: Store, previous_hash: str | None, now: datetime
) -> SourceReport:
    """Turn one fetch result into stored headlines and a feed-state update."""
    common = {"source": source, "http_status": result.http_status, "elapsed_ms": result.elapsed_ms}
    if result.status is FetchStatus.FAILED:
        store.record_failure(
            source.url,
            now,
            error=result.error or "failed",
            http_status=result.http_status,
            elapsed_ms=result.elapsed_ms,
        )
        return SourceReport(status=FetchStatus.FAILED, error=result.error, **common)
    if result.status is FetchStatus.NOT_MODIFIED:
        store.record_success(
            source.url,
            now,
            status=str(FetchStatus.NOT_MODIFIED),
            http_status=result.http_status,
            elapsed_ms=result.elapsed_ms,
        )
        return SourceReport(status=FetchStatus.NOT_MODIFIED, **common)
    body = result.body or b""
    digest = hashlib.sha256(body).hexdigest()
    validators = result.validators
    if digest == previous_hash:
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
        store.record_failure(
            source.url,
            now,
            error=exc.problem,
            http_status=result.http_status,
            elapsed_ms=result.elapsed_ms,
        )
        return SourceReport(status=FetchStatus.FAILED, error=exc.problem, **common)
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
) -> RefreshReport:
    """Fetch `sources` concurrently, store what is new, prune the window, report per source."""
    urls = [source.url for source in sources]
    states = store.feed_states(urls)
    validators = {
        url: Validators(etag=state.etag, last_modified=state.last_modified)
        for url, state in states.items()
    }
    results = fetch_all(urls, validators, limits or FetchLimits(), on_done=on_done, session=session)
    reports = tuple(
        _absorb(source, result, store, states[source.url].body_hash, now)
        for source, result in zip(sources, results, strict=True)
    )
    store.prune(now)
    return RefreshReport(topic=topic_slug, finished_at=now, sources=reports)


def refresh_topic(
    topic: Topic,
    store: Store,
    now: datetime,
    limits: FetchLimits | None = None,
    on_done: Callable[[FetchResult], None] | None = None,
    session: requests.Session | None = None,
) -> RefreshReport:
    """Refresh every source of `topic`."""
    return refresh_sources(topic.slug, topic.sources, store, now, limits, on_done, session)
