"""One refresh of a topic: fetch every source, parse what changed, store, prune.

A source that fails keeps what it delivered before: its headlines stay in the store and
only its feed state records the failure. Bytes identical to the last parsed body are not
parsed again (a server that ignores conditional GET costs a hash, not a parse).

Each result is taken in as it arrives, while slower hosts are still answering: bodies are
parsed in a shared pool of worker processes (every core, no GIL, a time limit per body: see
`lib.parse.pool`), and what they hold is stored from the calling thread. Where no worker
process can run, bodies are parsed in-process, without a time limit.

Hosts are never hammered: a Retry-After (429/503) is honoured, and a feed that keeps
failing is tried less and less often (5 min, 10 min, … up to 2 h), whoever asks.
"""

from __future__ import annotations

import hashlib
import math
import queue
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, CancelledError, Future
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests

from lib.errors import FailureKind, FeedError, FetchError, ParseError
from lib.fetch import FetchLimits, FetchResult, FetchStatus, Validators, fetch_all
from lib.model import Source, Topic
from lib.parse import ParsedFeed, parse_feed
from lib.parse import pool as parsepool
from lib.store import FeedFailure, FeedsDone, FeedState, FeedSuccess, Store, scope_of

MAX_RETRY_AFTER = timedelta(hours=6)  # a server's Retry-After beyond this is not believed
TOO_MANY_REQUESTS_PAUSE = timedelta(minutes=10)  # a 429 that does not say how long
BACKOFF_START = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=2)
_MAX_RETRY_AFTER_SECONDS = MAX_RETRY_AFTER.total_seconds()
_DOUBLINGS_TO_MAX = math.ceil(math.log2(BACKOFF_MAX / BACKOFF_START))
# Smaller bodies are parsed in the calling process, where no time limit can be enforced:
# sending a body to a worker and its headlines back costs about 0.5 ms, as much as parsing
# 1–4 KiB of feed, and the slowest bodies known (malformed XML read by feedparser's lenient
# parser, ≈ 4–11 s per MiB) take under 50 ms at this size (measured). Every larger body
# goes to the pool, even when it is the only one: there it can be stopped.
POOL_MIN_BYTES = 4 * 1024


def retry_time(
    failures: int, http_status: int | None, retry_after: float | None, now: datetime
) -> datetime | None:
    """When a feed that has now failed `failures` times in a row may be asked again.

    None means at the next refresh: a single failure is usually passing.
    """
    # Capped before a timedelta is made: a Retry-After of 10**20 seconds or the doubling
    # after 49 failures in a row would overflow it.
    if retry_after is not None:
        return now + timedelta(seconds=min(max(retry_after, 0), _MAX_RETRY_AFTER_SECONDS))
    if http_status == 429:
        return now + TOO_MANY_REQUESTS_PAUSE
    if failures <= 1:
        return None
    return now + min(BACKOFF_START * 2 ** min(failures - 2, _DOUBLINGS_TO_MAX), BACKOFF_MAX)


@dataclass(frozen=True, slots=True)
class SourceReport:
    """How one source fared in one refresh."""

    source: Source
    status: FetchStatus
    http_status: int | None = None
    items: int | None = None  # items in the body parsed this time (None: nothing parsed)
    new: int = 0  # headlines stored for the first time
    error: str | None = None  # in words, made from `kind`
    warning: str | None = None  # partly readable: what was kept and why
    elapsed_ms: float = 0.0
    parsed: bool = False  # False for 304s and for bodies identical to the last one
    waiting_until: datetime | None = None  # not asked this time: backing off until then
    kind: FailureKind | None = None  # why it failed

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
        kind=state.kind,
    )


def _fail(
    source: Source, result: FetchResult, state: FeedState, now: datetime, error: FeedError
) -> tuple[SourceReport, FeedFailure]:
    """A failure with its backoff; what the feed gave before stays stored."""
    retry_at = retry_time(state.failures + 1, result.http_status, result.retry_after, now)
    report = SourceReport(
        source=source,
        status=FetchStatus.FAILED,
        http_status=result.http_status,
        error=error.problem,
        elapsed_ms=result.elapsed_ms,
        waiting_until=retry_at,
        kind=error.kind,
    )
    return report, FeedFailure(
        source.url,
        error.problem,
        result.http_status,
        result.elapsed_ms,
        retry_at=retry_at,
        kind=error.kind,
        data=error.data,
    )


def _unchanged(source: Source, result: FetchResult) -> tuple[SourceReport, FeedSuccess]:
    """A 304, or a body identical to the last one parsed: nothing to parse."""
    report = SourceReport(
        source=source,
        status=FetchStatus.NOT_MODIFIED,
        http_status=result.http_status,
        elapsed_ms=result.elapsed_ms,
    )
    return report, _success(source, result, FetchStatus.NOT_MODIFIED)


def _success(
    source: Source,
    result: FetchResult,
    status: FetchStatus,
    body_hash: str | None = None,
    feed: ParsedFeed | None = None,
) -> FeedSuccess:
    """The feed state of an answer: its validators, and what was parsed from `feed`."""
    return FeedSuccess(
        source.url,
        status,
        result.http_status,
        result.elapsed_ms,
        etag=result.validators.etag,
        last_modified=result.validators.last_modified,
        body_hash=body_hash,
        feed_title=feed.feed_title if feed else None,
        items=len(feed.headlines) if feed else None,
    )


def _parse(
    body: bytes, url: str, seen_at: datetime, source: Source, content_type: str | None
) -> ParsedFeed:
    """`parse_feed` with positional arguments, as the pool sends them; a `ParseError` raised
    in a worker comes back as itself (our errors pickle)."""
    return parse_feed(body, url=url, seen_at=seen_at, source=source, content_type=content_type)


def _parse_here(job: _Parsing, now: datetime) -> ParsedFeed | ParseError:
    """Parse in this process: the headlines, or why there are none."""
    try:
        return _parse(*job.args(now))
    except ParseError as exc:
        return exc


@dataclass(frozen=True, slots=True)
class _Parsing:
    """A body on its way through the parser."""

    source: Source
    result: FetchResult
    digest: str

    def args(self, now: datetime) -> tuple[bytes, str, datetime, Source, str | None]:
        """The arguments of `_parse` for this body."""
        url = self.result.final_url or self.source.url
        return (self.result.body or b"", url, now, self.source, self.result.content_type)


class _Absorber:
    """Turns fetch results into stored headlines and feed states to record, as they arrive.

    Everything that touches the store runs in the thread that calls `take` and `parsed`.
    A body of `POOL_MIN_BYTES` or more goes to the worker pool and its future is handed to
    `notify` when done, to come back through `parsed`; other bodies are parsed right away.
    Headlines are saved at once (a viewer's feed in its own scope). The feed states (and
    `owner`'s claims on the feeds) wait in `outcomes` and are written with the next save,
    in its transaction, or in one write when the refresh is over: a loop killed midway
    has recorded every feed whose headlines it stored.
    """

    def __init__(
        self,
        sources: Iterable[Source],
        store: Store,
        states: Mapping[str, FeedState],
        now: datetime,
        notify: Callable[[Future[ParsedFeed]], None],
        viewer_feeds: Collection[str] = (),
        real_now: datetime | None = None,
        owner: str | None = None,
    ) -> None:
        self._owner = owner
        self._sources = {source.url: source for source in sources}
        self._viewer_feeds = viewer_feeds
        self._real_now = real_now
        self._store = store
        self._states = states
        self._now = now
        self._notify = notify
        self._parsing: dict[Future[ParsedFeed], _Parsing] = {}
        self.reports: dict[str, SourceReport] = {}
        self.outcomes: list[FeedSuccess | FeedFailure] = []

    @property
    def parsing(self) -> int:
        """How many bodies are being parsed in the pool."""
        return len(self._parsing)

    def take(self, result: FetchResult) -> None:
        """Take one fetch result in: record it, or parse it (here or in the pool)."""
        source = self._sources[result.url]
        state = self._states[source.url]
        if result.status is FetchStatus.FAILED:
            failure = result.failure or FetchError(result.url, FailureKind.OTHER, text="failed")
            self._done(*_fail(source, result, state, self._now, failure))
            return
        # A 304, or a body identical to the last one parsed, costs no parse.
        unchanged = result.status is FetchStatus.NOT_MODIFIED
        digest = None if unchanged else hashlib.sha256(result.body or b"").hexdigest()
        if digest is None or digest == state.body_hash:
            self._done(*_unchanged(source, result))
            return
        job = _Parsing(source, result, digest)
        future = None
        if len(result.body or b"") >= POOL_MIN_BYTES:
            future = parsepool.PARSE_POOL.submit(_parse, *job.args(self._now))
        if future is None:
            self._store_parsed(job, _parse_here(job, self._now))
        else:
            self._parsing[future] = job
            future.add_done_callback(self._notify)

    def parsed(self, future: Future[ParsedFeed]) -> None:
        """Store what a finished parse from the pool found."""
        job = self._parsing.pop(future)
        url = job.args(self._now)[1]
        outcome: ParsedFeed | ParseError
        try:
            outcome = future.result()
        except ParseError as error:  # raised in the worker, handed back whole
            outcome = error
        except (BrokenExecutor, CancelledError):
            # No worker could start, or the pool was stopped: the body is still here to parse.
            outcome = _parse_here(job, self._now)
        except TimeoutError as error:  # the worker was killed; the body is not tried here
            outcome = ParseError(url, FailureKind.PARSE_TIMEOUT, seconds=error.args[0])
        except ChildProcessError as error:  # the worker died while parsing (out of memory?)
            outcome = ParseError(url, FailureKind.PARSER_DIED, reason=str(error))
        self._store_parsed(job, outcome)

    def _store_parsed(self, job: _Parsing, outcome: ParsedFeed | ParseError) -> None:
        source, result = job.source, job.result
        if isinstance(outcome, ParseError):
            self._done(*_fail(source, result, self._states[source.url], self._now, outcome))
            return
        success = _success(source, result, FetchStatus.OK, job.digest, outcome)
        new = self._store.save(
            outcome.headlines,
            self._now,
            scope=scope_of(source.url, self._viewer_feeds),
            real_now=self._real_now,
            done=FeedsDone([*self.outcomes, success], self._now, self._viewer_feeds, self._owner),
        )
        self.outcomes.clear()  # written with the headlines
        report = SourceReport(
            source=source,
            status=FetchStatus.OK,
            http_status=result.http_status,
            items=len(outcome.headlines),
            new=new,
            warning=outcome.problem,
            elapsed_ms=result.elapsed_ms,
            parsed=True,
        )
        self.reports[source.url] = report

    def _done(self, report: SourceReport, outcome: FeedSuccess | FeedFailure) -> None:
        self.reports[report.source.url] = report
        self.outcomes.append(outcome)


# What the calling thread of a refresh waits for: a fetch result, a finished parse, the
# end of fetching (None), or what fetching raised.
_Event = FetchResult | Future[ParsedFeed] | BaseException | None


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
    real_now: datetime | None = None,
    owner: str | None = None,
) -> RefreshReport:
    """Fetch `sources` concurrently, store what is new, prune the window, report per source.

    Sources backing off (Retry-After, repeated failures) are not asked; `on_plan` is told
    how many will be, before the first request. Each result is taken in (stored, or sent
    to be parsed) as it arrives, then `on_done` is called with it, in the calling thread.
    URLs in `untrusted` (typed by a viewer) may not reach private or loopback addresses
    unless `allow_private`, and are stored apart from the topics files' feeds.
    `real_now` is the wall clock when `now` is a display clock (NEWS_CLOCK): nothing the
    wall clock still keeps is pruned. `owner` names the refresher loop that claimed the
    sources: each claim is given back as its feed is recorded.
    """
    states = store.feed_states([source.url for source in sources], untrusted)
    due = [s for s in sources if not _backing_off(states[s.url], now)]
    if on_plan:
        on_plan(len(due))
    validators = {
        s.url: Validators(etag=states[s.url].etag, last_modified=states[s.url].last_modified)
        for s in due
    }
    # Downloads run on a thread of their own and parses in the pool; both report here, so
    # this thread stores each as soon as it is ready, whichever comes first.
    events: queue.SimpleQueue[_Event] = queue.SimpleQueue()
    absorber = _Absorber(
        due,
        store,
        states,
        now,
        notify=events.put,
        viewer_feeds=untrusted,
        real_now=real_now,
        owner=owner,
    )

    def fetch() -> None:
        try:
            fetch_all(
                [s.url for s in due],
                validators,
                limits or FetchLimits(),
                on_done=events.put,
                session=session,
                untrusted=untrusted,
                allow_private=allow_private,
            )
        except BaseException as exc:  # handed to the calling thread, which raises it
            events.put(exc)
        else:
            events.put(None)

    with parsepool.PARSE_POOL.held():
        threading.Thread(target=fetch, name=f"fetch-{topic_slug}", daemon=True).start()
        fetching = True
        while fetching or absorber.parsing:
            event = events.get()
            if event is None:
                fetching = False
            elif isinstance(event, BaseException):
                raise event
            elif isinstance(event, Future):
                absorber.parsed(event)
            else:
                absorber.take(event)
                if on_done:
                    on_done(event)
    store.record_feeds(absorber.outcomes, now, untrusted, owner)  # not written with a save
    reports = tuple(absorber.reports.get(s.url) or _waiting(s, states[s.url]) for s in sources)
    store.prune(now, real_now=real_now)
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
    real_now: datetime | None = None,
) -> RefreshReport:
    """Refresh every source of `topic` (`real_now`: see `refresh_sources`)."""
    return refresh_sources(
        topic.slug, topic.sources, store, now, limits, on_done, session, on_plan,
        real_now=real_now,
    )  # fmt: skip
