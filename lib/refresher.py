"""The refresher loop: every topic's feeds refreshed on a schedule, whether or not anyone views.

One loop runs in each app server (a thread started at server start) or as a process of its
own (`python -m lib refresh --serve`). Loops on one store share the work through it: a loop
claims a batch of due feeds for a while (`Store.claim_feeds`), refreshes them with the rules
of `lib.refresh` (backoff, Retry-After, not modified), and gives them back. A feed is due
once per period (NEWS_REFRESH_EVERY), or at once when a viewer asked for its topic ("Refresh
now", a request in the store). A loop that dies loses its claims when they expire, and
another loop takes its feeds up then.

The loop is a thread nobody joins: it catches and logs its own exceptions, waits and tries
again when the store cannot be used, and stops between batches when its stop event is set.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests

from lib.config import Settings, load_topics
from lib.errors import ConfigError, StoreError
from lib.fetch import FetchLimits
from lib.model import Source, Topic
from lib.parse.pool import PARSE_TIME_LIMIT
from lib.refresh import RefreshReport, refresh_sources
from lib.store import MIN_REFRESH_INTERVAL, FeedState, RefreshState, Store

__all__ = [
    "MIN_REFRESH_INTERVAL",
    "Refresher",
    "lease_for",
    "loop_missing",
    "never_fetched",
    "owner_id",
    "refresh_round",
    "unreachable",
]

LOG = logging.getLogger(__name__)

POLL = timedelta(seconds=2)  # how often a waiting loop looks for requests and due feeds
BATCH = 50  # feeds claimed at a time: loops on one store share a round in batches
RETRY_FIRST = timedelta(seconds=5)  # the wait after a first failed round, doubled after each
RETRY_MAX = timedelta(seconds=60)  # the longest wait after a failed round

Clock = Callable[[], datetime]


def lease_for(config: Settings) -> timedelta:
    """How long a claim holds: long enough for one batch (every download within the fetch
    deadline, then a parse within its time limit), so a live loop never loses its feeds."""
    if config.refresh_lease is not None:
        return timedelta(seconds=config.refresh_lease)
    return timedelta(seconds=config.fetch_deadline + PARSE_TIME_LIMIT + 15)


def owner_id() -> str:
    """A name for one loop, unique across machines and restarts (host, process, random)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class _Topics:
    """The topics file, read again when it changes."""

    path: Path
    _seen: tuple[int, tuple[Topic, ...]] | None = field(default=None)

    def read(self) -> tuple[Topic, ...]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            mtime = -1  # load_topics says what is wrong with it
        if self._seen is None or self._seen[0] != mtime:
            self._seen = (mtime, load_topics(self.path))
        return self._seen[1]


def refresh_round(
    config: Settings,
    store: Store,
    owner: str,
    clock: Clock,
    *,
    topics: tuple[Topic, ...] | None = None,
    every: timedelta | None = None,
    batch: int = BATCH,
    stop: threading.Event | None = None,
    session: requests.Session | None = None,
) -> list[RefreshReport]:
    """Claim the due feeds of every topic in batches and refresh each batch, until none is
    due (or `stop` is set); return a report per batch.

    `every` is the period (NEWS_REFRESH_EVERY by default; zero takes every feed nobody holds,
    once). `clock` gives the wall clock: claims and the period follow it, while what is
    stored is dated by the display clock when NEWS_CLOCK is set (as the page shows it).
    """
    topics = load_topics(config.topics_path) if topics is None else topics
    period = timedelta(seconds=config.refresh_every) if every is None else every
    lease = lease_for(config)
    sources: dict[str, Source] = {}
    for topic in topics:
        for source in topic.sources:
            sources.setdefault(source.url, source)  # a feed of two topics is fetched once
    done: set[str] = set()  # taken once in this round: never twice, whatever the period
    reports: list[RefreshReport] = []
    while not (stop is not None and stop.is_set()):
        wanted = {
            topic.slug: [s.url for s in topic.sources if s.url not in done] for topic in topics
        }
        now = clock()
        claimed = store.claim_feeds(owner, wanted, now, period, lease, batch)
        if not claimed:
            break
        done.update(claimed)
        report = refresh_sources(
            "refresher",
            [sources[url] for url in claimed],
            store,
            config.clock or now,
            FetchLimits(deadline=config.fetch_deadline),
            session=session,
            real_now=now,
            owner=owner,
        )
        # Each feed's claim went back as its feed was recorded; these are those not asked
        # (backing off). A batch that failed midway is taken up again when the claims of
        # the feeds it had not recorded expire.
        store.release_feeds(owner, claimed)
        reports.append(report)
        failed = len(report.failed)
        LOG.info(
            "refreshed %d feeds: %d new headlines, %d failed", len(claimed), report.new, failed
        )
    return reports


def never_fetched(states: Iterable[FeedState]) -> bool:
    """No feed of these has been asked yet (a new store: the loop is on it)."""
    return all(state.last_attempt is None for state in states)


def unreachable(states: Iterable[FeedState]) -> bool:
    """Every feed's last attempt failed without an HTTP answer: the network is down."""
    found = list(states)
    return bool(found) and all(
        s.last_attempt is not None and s.last_status == "failed" and s.http_status is None
        for s in found
    )


def loop_missing(
    config: Settings, state: RefreshState, watched_since: datetime, now: datetime
) -> bool:
    """Whether no refresher loop works the store, as the topic's claims show at `now` (wall
    clock): none took a feed of it for two periods (or a lease, if longer); none ever did,
    a period (or a lease) and a poll after `watched_since` (when the caller began looking:
    a topic's new feeds are due at once); or a "Refresh now" waited a lease and a poll with
    none of its feeds taken up, which a live loop does at once."""
    period = timedelta(seconds=config.refresh_every)
    lease = lease_for(config)
    if state.taken_at is None:
        quiet = now - watched_since > max(period, lease) + POLL
    else:
        quiet = now - state.taken_at > max(2 * period, lease)
    asked = state.asked_at
    return quiet or (
        state.waiting
        and asked is not None
        and (state.taken_at is None or state.taken_at < asked)
        and now - asked > lease + POLL
    )


class Refresher:
    """The loop: a round whenever feeds are due or a refresh is asked, until stopped."""

    def __init__(
        self,
        config: Settings,
        clock: Clock,
        *,
        owner: str | None = None,
        poll: timedelta = POLL,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.owner = owner or owner_id()
        self.poll = poll
        self.session = session
        self.stop_event = threading.Event()
        self.rounds = 0  # rounds finished (a round may fetch nothing)
        self.last_error: str | None = None  # what the last failed round met, in words
        self.store_fault: StoreError | None = None  # the last round could not use the store
        self.failing_since: datetime | None = None  # the first of the failed rounds in a row
        self.failures = 0  # failed rounds in a row
        self.last_round: datetime | None = None  # when the last round finished
        self._topics = _Topics(config.topics_path)
        self._store: Store | None = None
        self._thread: threading.Thread | None = None

    def run_round(self) -> bool:
        """One round, with the loop's care: False when it failed (said in `last_error`),
        never an exception. The log gets one line when the loop starts failing, when what
        it meets changes, and when it works again: not one per attempt."""
        try:
            self._store = self._store or Store(self.config.db_path)
            refresh_round(
                self.config,
                self._store,
                self.owner,
                self.clock,
                topics=self._topics.read(),
                stop=self.stop_event,
                session=self.session,
            )
        except (StoreError, ConfigError) as exc:  # the store or the topics: wait, retry
            if self._failed(str(exc), exc if isinstance(exc, StoreError) else None):
                LOG.warning("refresher: %s (waiting and trying again)", exc)
            return False
        except Exception as exc:  # a bug: logged with its traceback, and the loop goes on
            if self._failed(f"{type(exc).__name__}: {exc}", None):
                LOG.exception("refresher: a round failed (waiting and trying again)")
            return False
        if self.failing_since is not None:
            LOG.warning(
                "refresher: working again (failing since %s)", self.failing_since.isoformat()
            )
        self.rounds += 1
        self.last_round = self.clock()
        self.last_error, self.store_fault, self.failing_since = None, None, None
        self.failures = 0
        return True

    def _failed(self, error: str, fault: StoreError | None) -> bool:
        """Record a failed round; True when it is news (the first, or another problem)."""
        news = error != self.last_error
        self.last_error, self.store_fault = error, fault
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = self.clock()
        return news

    @property
    def state(self) -> str:
        """In one word: "working", "waiting" (failing: retrying with a backoff) or
        "stopped"."""
        if self.stop_event.is_set():
            return "stopped"
        return "waiting" if self.failing_since is not None else "working"

    def serve(self) -> None:
        """Run rounds until `stop()`, waiting longer after each failed one (5 s, doubled
        up to `RETRY_MAX`); never raises (a thread nobody joins)."""
        wait = self.poll
        while not self.stop_event.is_set():
            backoff = min(max(wait * 2, RETRY_FIRST), RETRY_MAX)
            wait = self.poll if self.run_round() else backoff
            self.stop_event.wait(wait.total_seconds())

    def start(self) -> threading.Thread:
        """Run the loop on a daemon thread of its own; return it."""
        self._thread = threading.Thread(target=self.serve, name="refresher", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = None) -> None:
        """Ask the loop to stop after the batch it is in, and wait for it up to `timeout`."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
