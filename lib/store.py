"""The headline store: keeps headlines across fetches and restarts, in one SQLite file (WAL,
the default) or a PostgreSQL database shared by many machines (`lib/storedb.py` holds what
differs between the two; the logic here is written once).

Feeds carry only their latest items, so the 7-day window fills by keeping what each fetch
brought. A headline is stored once per scope: the same guid, or the same canonical link
(tracking parameters removed), is not stored again. The topics files' feeds share the scope
''; a feed a viewer added has its own (its URL), so it can neither keep a topic's item out
nor change another viewer's page. Per-feed state (validators for conditional GET, the hash
of the last body parsed, the last outcome) lives beside the headlines, scoped the same way.
The window is kept by the wall clock: a display clock set ahead (NEWS_CLOCK) prunes nothing.
The layout is made and upgraded by numbered migrations (lib/migrations.py) when a store opens.
Each headline keeps the store version its save made, so a reader that holds what it read
reads on from there (`headlines_after`) instead of reading the window again.
A topics-file headline gets its story when it is saved (lib/stories.py, `StoryAssigner`,
inside the save's transaction), so a reader never groups the window.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lib.errors import FailureKind, StoreError, failure_message
from lib.fetch import FetchStatus
from lib.migrations import (
    ERROR_KINDS,
    LATEST,
    STORIES,
    derive_error_kinds,
    migrate,
    recorded_version,
    schema_version,
)
from lib.model import Headline, TimeKind
from lib.storedb import Address, Connection, open_database
from lib.stories import DEFAULT_WINDOW, StoryAssigner
from lib.times import WINDOW

# "Refresh now" may not start a new round of requests to every host more often than this,
# whoever asks.
MIN_REFRESH_INTERVAL = timedelta(seconds=30)
# A writer holds in memory the stories that had a headline in this long before the clock
# (and their headlines: a story spans at most the stories' 48 hours, so up to twice this).
# A story quiet for longer is not joined: a headline that reaches a writer this late starts
# a story of its own. The whole week would cost about 170 MB at 100,000 headlines.
STORIES_HELD = DEFAULT_WINDOW

# Query parameters that only say where a click came from; they never change the article.
_TRACKING_PREFIXES = ("utm_", "mc_", "at_", "pk_", "hsa_", "oly_", "_hs")
_TRACKING_NAMES = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ocid", "cmpid", "cmp",
     "smid", "smtyp", "ito", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname",
     "ns_fee", "ref", "ref_src", "rss", "taid", "wt.mc_id", "xtor", "ftag", "guccounter"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Arrivals:
    """Headlines read from the store, and where the next read goes on from."""

    headlines: list[Headline]  # newest first: by publication, then by row id
    ids: list[int]  # each headline's row id, which orders headlines published at one time
    version: int  # the store's version they were read at: the next read's `after`
    stories: list[int] = field(default_factory=list)  # each headline's story id


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about one feed URL."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    feed_title: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    failing_since: datetime | None = None
    last_status: FetchStatus | None = None
    http_status: int | None = None
    last_error: str | None = None
    items: int | None = None
    elapsed_ms: float | None = None
    failures: int = 0
    retry_at: datetime | None = None
    # The kind of the last failure (None after a success); `last_error` is its words, made
    # from the kind and its data when read (a failure stored before kinds keeps its words).
    kind: FailureKind | None = None
    failure_data: Mapping[str, Any] | None = None  # the kind's data, when it was stored


@dataclass(frozen=True, slots=True)
class FeedSuccess:
    """A fetch that worked, to remember. Values left None keep what was stored before."""

    url: str
    status: FetchStatus  # OK, or NOT_MODIFIED (a 304, or the same bytes as last time)
    http_status: int | None
    elapsed_ms: float
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    feed_title: str | None = None
    items: int | None = None


@dataclass(frozen=True, slots=True)
class FeedFailure:
    """A fetch that failed, to remember; `retry_at` holds off the next request until then."""

    url: str
    error: str  # in words: `lib.errors.failure_message` of the kind and its data
    http_status: int | None
    elapsed_ms: float
    retry_at: datetime | None = None
    kind: FailureKind = FailureKind.OTHER
    data: Mapping[str, Any] | None = None  # the kind's data (None: only the words are known)


@dataclass(frozen=True, slots=True)
class FeedsDone:
    """Feeds a refresh is done with: how each fared (as `record_feeds` records it) and, for
    a refresher loop, the claims it gives back (as `release_feeds`). Written in the same
    transaction as a save, so a loop killed after storing a feed's headlines never has the
    feed fetched again in the period."""

    outcomes: Sequence[FeedSuccess | FeedFailure]
    now: datetime
    viewer_feeds: Collection[str] = ()
    owner: str | None = None  # the refresher loop holding the claims, if any


def canonical_link(link: str | None) -> str | None:
    """The link with tracking parameters, fragment, default port and case noise removed."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
        port = parts.port
    except ValueError:
        return link.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith(_TRACKING_PREFIXES) and key.lower() not in _TRACKING_NAMES
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(sorted(query)), ""))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def kept_since(now: datetime, real_now: datetime | None, window: timedelta = WINDOW) -> datetime:
    """Where the stored window starts: `window` before the earlier of the display clock
    `now` (NEWS_CLOCK, for display and tests) and the wall clock `real_now`, so a clock set
    ahead never drops what the wall clock still keeps."""
    return (now if real_now is None else min(now, real_now)) - window


def _without_repeats(rows: list[Any]) -> list[Any]:
    """Rows (newest first; canonical link last) without an item an earlier row already gave
    (same guid or canonical link); the rows come back without the canonical link."""
    guids: set[str] = set()
    links: set[str] = set()
    kept = []
    for row in rows:
        guid, link = row[6], row[-1]
        if guid in guids or (link is not None and link in links):
            continue
        guids.add(guid)
        if link is not None:
            links.add(link)
        kept.append(row[:-1])
    return kept


_HEADLINE_COLUMNS = "title, link, publication, label, published, source, guid, time_kind, summary"
# The same, without the summary (a story never reads it): what the writer's assigner reads.
_STORY_COLUMNS = "title, link, publication, label, published, source, guid, time_kind, ''"


def _headlines(rows: Iterable[Any]) -> list[Headline]:
    """Headlines from rows of `_HEADLINE_COLUMNS`."""
    # A few publications, labels and sources repeat over thousands of rows: one string
    # each instead of one per row (about 15 MB at 100,000 headlines).
    shared: dict[str, str] = {}
    one = shared.setdefault
    kinds = {str(kind): kind for kind in TimeKind}  # a look-up, not the enum's own call
    return [
        Headline(
            title=title,
            link=link,
            publication=one(publication, publication),
            label=None if label is None else one(label, label),
            published=datetime.fromtimestamp(published, UTC),
            source=one(source, source),
            guid=guid,
            time_kind=kinds.get(time_kind) or TimeKind(time_kind),
            summary=summary,
        )
        for title, link, publication, label, published, source, guid, time_kind, summary in rows
    ]


_INSERT_HEADLINE = (
    "INSERT INTO headline (scope, guid, canon_link, source, title, link, publication, label, "
    "published, time_kind, first_seen, summary, stored_version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_ROW_GUID, _ROW_CANON_LINK = 1, 2  # where a row of `save` has the guid and canonical link


def _next_story(db: Connection) -> int:
    """The id the next new story gets (kept in `meta`, so never given twice)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'next_story'").fetchone()
    return 1 if row is None else int(row[0])


def _store_stories(
    db: Connection, assigner: StoryAssigner, inserted: Sequence[tuple[int, Sequence[Any]]]
) -> None:
    """Assign the rows just inserted (row id, row of `save`) to stories, as one batch, and
    store each one's story, each story's first report when it is one of them, and the next
    story id (inside the caller's write transaction)."""
    headlines = [
        Headline(
            title=row[4], link=row[5], publication=row[6], label=row[7],
            published=datetime.fromtimestamp(row[8], UTC), source=row[3], guid=row[1],
            time_kind=TimeKind(row[9]),
        )
        for _, row in inserted
    ]  # fmt: skip
    stories = assigner.assign(headlines)
    db.executemany(
        "UPDATE headline SET story = ? WHERE id = ?",
        [(story, row_id) for story, (row_id, _) in zip(stories, inserted, strict=True)],
    )
    row_of = {row[_ROW_GUID]: row_id for row_id, row in inserted}  # a guid is one row in ''
    firsts = []
    for story in set(stories):
        first = row_of.get(assigner.first_report(story).guid)
        if first is not None:  # a new story, or an earlier report of a stored one
            firsts.append((story, first))
    db.executemany(
        "INSERT INTO story (id, first_report) VALUES (?, ?) "
        "ON CONFLICT(id) DO UPDATE SET first_report = excluded.first_report",
        firsts,
    )
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('next_story', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (str(assigner.next_id),),
    )


def _assign_unassigned(db: Connection) -> None:
    """Give stories to the topics' headlines stored without one (a store upgraded to
    migration 6), all in one batch: taken in publication order, as the whole-window rule
    groups them (docs/STORIES.md)."""
    rows = db.execute(
        "SELECT id, scope, guid, canon_link, source, title, link, publication, label, "
        "published, time_kind, first_seen, '' FROM headline WHERE scope = '' "
        "AND story IS NULL ORDER BY stored_version, id"
    ).fetchall()
    if rows:
        _store_stories(db, StoryAssigner(next_id=_next_story(db)), [(r[0], r[1:]) for r in rows])


def _read_version(db: Connection) -> int:
    """The store's version as `db` sees it (0 before anything was stored)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    return 0 if row is None else int(row[0])


class Store:
    """A headline store in a SQLite file (a path) or a PostgreSQL database (a
    `postgresql://` URL). Safe to use from several threads and processes (and machines,
    on PostgreSQL).

    Every failure of the store itself (a file damaged, a folder, read-only, locked; a
    server that cannot be reached or refuses the login) is a `StoreError` naming the store
    (a URL without its password) and what to do.
    """

    def __init__(self, path: Address) -> None:
        self._db = open_database(path)
        self.address = self._db.address  # as shown: a URL without its password
        # The SQLite file (as before PostgreSQL stores); None for a PostgreSQL store.
        self.path: Path | None = getattr(self._db, "path", None)
        # The writer's stories (`_assigner_in`): rebuilt from the store on first use and after
        # any failure, kept up with what other writers stored since the version it saw.
        self._stories_lock = threading.Lock()
        self._assigner: StoryAssigner | None = None
        self._assigner_seen = 0
        self._db.prepare()
        with self._connect() as db:
            # Read without a write lock first: the usual case ends here.
            if self._schema(db) != LATEST or recorded_version(db, self._db) is None:
                db.begin_write()
                # Again under the lock: another process may have upgraded it meanwhile.
                if self._schema(db) != LATEST or recorded_version(db, self._db) is None:
                    start = self._schema(db)
                    migrate(db, start, self._db)  # also records the version found by layout
                    if start < STORIES:
                        _assign_unassigned(db)
                    if start < ERROR_KINDS:
                        derive_error_kinds(db)
                db.commit()

    @property
    def backend(self) -> str:
        """Which database holds the store: "sqlite" or "postgresql"."""
        return self._db.kind

    def _schema(self, db: Connection) -> int:
        """The store's schema version; a version newer than this release knows is refused
        before anything is written."""
        found = schema_version(db, self._db)
        if found > LATEST:
            raise StoreError(
                self.address,
                f"was written by a newer release (schema version {found}; this release "
                f"knows versions up to {LATEST})",
                "run the newer release, or point NEWS_DB at another store",
            )
        return found

    def _connect(self) -> Any:
        """A connection for one operation (a context manager); a fault of the database is
        a `StoreError`."""
        return self._db.connect()

    # --- headlines ----------------------------------------------------------------------------

    def save(
        self,
        headlines: Iterable[Headline],
        now: datetime,
        window: timedelta = WINDOW,
        *,
        scope: str = "",
        real_now: datetime | None = None,
        done: FeedsDone | None = None,
    ) -> int:
        """Store the headlines not stored yet in `scope` and inside the window; return how
        many were new. `scope` is '' for a topics file's feed, the feed's URL for a viewer's.

        `real_now` is the wall clock when `now` is a display clock (NEWS_CLOCK): the window
        starts at the earlier of the two (see `kept_since`). `done` is recorded in the same
        transaction.
        """
        oldest = _epoch(kept_since(now, real_now, window))
        seen = _epoch(now)
        rows = [
            [
                scope,
                h.guid,
                canonical_link(h.link),
                h.source,
                h.title,
                h.link,
                h.publication,
                h.label,
                _epoch(h.published),
                str(h.time_kind),
                seen,
                h.summary,
            ]
            for h in headlines
            if _epoch(h.published) >= oldest
        ]
        if not rows:
            self._record(done)
            return 0
        if scope == "":
            return self._save_topics(rows, kept_since(now, real_now, STORIES_HELD), done)
        with self._connect() as db:
            db.begin_write()
            # The rows carry the version this save makes (under the write lock, so versions
            # are given in commit order): a reader asks for what came after the version it
            # read (`headlines_after`). Ids cannot say it: SQLite gives a new row the largest
            # id plus one, so ids come again after a prune deletes the newest rows.
            stored = _read_version(db) + 1
            for row in rows:
                row.append(stored)
            added = db.executemany(_INSERT_HEADLINE, rows)
            if added:
                self._bump_version(db)
            _write_done(db, done)
            db.commit()
        return added

    def _save_topics(
        self, rows: list[list[Any]], held_since: datetime, done: FeedsDone | None = None
    ) -> int:
        """`save` for the topics' scope: each new headline gets its story in the same
        transaction, from this Store's assigner (`_assigner_in`)."""
        with self._stories_lock, self._connect() as db:
            try:
                if self._assigner is None:
                    # Made before the write lock is taken (seconds at 100,000 headlines:
                    # other writers go on meanwhile), then brought up to date under it.
                    db.begin_read()
                    self._assigner = self._stored_assigner(db, held_since)
                    self._assigner_seen = _read_version(db)
                    db.commit()
                db.begin_write()
                # Under the write lock: no other writer stores or gives story ids meanwhile.
                assigner = self._assigner_in(db, held_since)
                stored = _read_version(db) + 1  # see `save`
                inserted: list[tuple[int, list[Any]]] = []
                if db.executemany(_INSERT_HEADLINE, [[*row, stored] for row in rows]):
                    # The rows the store took (repeats in the batch and rows stored before
                    # left out) are the ones with this version, in the order inserted. Of
                    # rows with one guid and canonical link only the first can be taken.
                    # One statement for the batch, not one INSERT … RETURNING per row (a
                    # fifth of a cold round's writer CPU).
                    row_of: dict[tuple[str, str | None], list[Any]] = {}
                    for row in rows:
                        row_of.setdefault((row[_ROW_GUID], row[_ROW_CANON_LINK]), row)
                    taken = db.execute(
                        "SELECT id, guid, canon_link FROM headline "
                        "WHERE scope = ? AND stored_version = ? ORDER BY id",
                        (rows[0][0], stored),
                    ).fetchall()
                    inserted = [(row_id, row_of[guid, link]) for row_id, guid, link in taken]
                if inserted:
                    _store_stories(db, assigner, inserted)
                    self._bump_version(db)
                    self._assigner_seen = stored
                _write_done(db, done)
                db.commit()
            except BaseException:
                self._assigner = None  # it may hold what was rolled back: made again
                raise
        return len(inserted)

    def _assigner_in(self, db: Connection, held_since: datetime) -> StoryAssigner:
        """This Store's assigner, up to date with `db` (inside its write transaction):
        made from the stored stories on first use, or given what other writers stored since
        the version it saw; stories quiet since before `held_since` let go."""
        version = _read_version(db)
        assigner = self._assigner
        if assigner is None or version < self._assigner_seen:  # new, or another file now
            assigner = self._stored_assigner(db, held_since)
        elif version > self._assigner_seen:
            rows = db.execute(
                f"SELECT story, {_STORY_COLUMNS} FROM headline WHERE scope = '' "
                "AND story IS NOT NULL AND stored_version > ? ORDER BY stored_version, id",
                (self._assigner_seen,),
            ).fetchall()
            stories = [row[0] for row in rows]
            assigner.add_stored(zip(_headlines(row[1:] for row in rows), stories, strict=True))
        assigner.forget(held_since)
        assigner.next_id = _next_story(db)
        self._assigner, self._assigner_seen = assigner, version
        return assigner

    @staticmethod
    def _stored_assigner(db: Connection, held_since: datetime) -> StoryAssigner:
        """An assigner made from the stories stored in `db` that had a headline since
        `held_since` (their headlines, in the order they were stored)."""
        rows = db.execute(
            f"SELECT story, {_STORY_COLUMNS} FROM headline WHERE scope = '' "
            "AND story IS NOT NULL AND published >= ? ORDER BY stored_version, id",
            (_epoch(held_since - DEFAULT_WINDOW),),
        ).fetchall()
        stories = [row[0] for row in rows]
        return StoryAssigner.from_stored(
            zip(_headlines(row[1:] for row in rows), stories, strict=True),
            since=held_since,
            next_id=_next_story(db),
        )

    def prune(
        self, now: datetime, window: timedelta = WINDOW, *, real_now: datetime | None = None
    ) -> int:
        """Delete headlines older than the window; return how many went. The feeds of a
        browser whose page has not read them for `VIEWER_FEEDS_KEPT` go too.

        With a display clock `now` ahead of the wall clock `real_now`, nothing the wall
        clock still keeps goes (see `kept_since`).
        """
        with self._connect() as db:
            db.begin_write()
            db.execute(
                "DELETE FROM viewer_feed WHERE seen_at < ?",
                (_epoch(kept_since(now, real_now, VIEWER_FEEDS_KEPT)),),
            )
            gone = db.execute(
                "DELETE FROM headline WHERE published < ?",
                (_epoch(kept_since(now, real_now, window)),),
            ).rowcount
            if gone:
                # Stories left without a headline go too (their ids are not given again).
                db.execute(
                    "DELETE FROM story WHERE NOT EXISTS (SELECT 1 FROM headline "
                    "WHERE headline.scope = '' AND headline.story = story.id)"
                )
                self._bump_version(db)
            db.commit()
        with self._stories_lock:
            if self._assigner is not None:
                self._assigner.forget(kept_since(now, real_now, STORIES_HELD))
        return gone

    def headlines(self, since: datetime, sources: Sequence[str] | None = None) -> list[Headline]:
        """The topics file's stored headlines published at or after `since`, newest first,
        optionally only those of `sources`."""
        sql = f"SELECT {_HEADLINE_COLUMNS} FROM headline WHERE published >= ? AND scope = ''"
        params: list[object] = [_epoch(since)]
        if sources is not None:
            if not sources:
                return []
            sql += f" AND source IN ({','.join('?' * len(sources))})"
            params.extend(sources)
        sql += " ORDER BY published DESC, id DESC"
        with self._connect() as db:
            return _headlines(db.execute(sql, params).fetchall())

    def headlines_after(
        self, after: int | None, since: datetime, *, without_summary: Sequence[str] = ()
    ) -> Arrivals:
        """The topics file's headlines stored after the store's version `after` (all of
        them when None) and published at or after `since`, newest first, with their row ids
        and the version read, which is the `after` of the next call. The headlines of the
        sources in `without_summary` come with an empty summary (not read: a reader that
        never looks at them saves reading and holding them).

        A reader that keeps what it read grows by this instead of reading the window again;
        it drops what leaves the window (and so what pruning deletes) by time itself.
        """
        columns = _HEADLINE_COLUMNS
        skipped: list[object] = list(without_summary)
        if skipped:
            marks = ",".join("?" * len(skipped))
            columns = columns.replace(
                "summary", f"CASE WHEN source IN ({marks}) THEN '' ELSE summary END"
            )
        sql = (
            f"SELECT id, story, {columns} FROM headline "
            "WHERE scope = '' AND published >= ? AND stored_version <= ?"
        )
        with self._connect() as db:
            # The version and the rows from one snapshot of the file. `stored_version <= ?`
            # keeps it right where each statement reads a snapshot of its own (PostgreSQL's
            # read committed): rows a save is still writing have versions past the one read.
            db.begin_read()
            version = _read_version(db)
            params: list[object] = [*skipped, _epoch(since), version]
            if after is not None:
                sql += " AND stored_version > ?"
                params.append(after)
            rows = db.execute(sql + " ORDER BY published DESC, id DESC", params).fetchall()
            db.commit()
        ids = [row[0] for row in rows]
        # A row without a story (none after migration 6 assigns them) is a story of its own.
        stories = [-row[0] if row[1] is None else row[1] for row in rows]
        return Arrivals(_headlines(row[2:] for row in rows), ids, version, stories)

    def viewer_headlines(self, since: datetime, feeds: Collection[str]) -> list[Headline]:
        """The headlines of a viewer's own `feeds` published at or after `since`, newest
        first, without the items the topics file's feeds have (same guid or canonical link)
        and without an item twice when two of the feeds carry it."""
        if not feeds:
            return []
        # The topic's copy wins: looked up by the (scope, guid) and (scope, canon_link) indexes.
        sql = (
            f"SELECT {_HEADLINE_COLUMNS}, canon_link FROM headline h "
            f"WHERE published >= ? AND scope IN ({','.join('?' * len(feeds))}) "
            "AND NOT EXISTS (SELECT 1 FROM headline t WHERE t.scope = '' AND t.guid = h.guid) "
            "AND (canon_link IS NULL OR NOT EXISTS "
            "(SELECT 1 FROM headline t WHERE t.scope = '' AND t.canon_link = h.canon_link)) "
            "ORDER BY published DESC, id DESC"
        )
        with self._connect() as db:
            rows = db.execute(sql, [_epoch(since), *feeds]).fetchall()
        return _headlines(_without_repeats(rows))

    def summaries(self, guids: Sequence[str], viewer_feeds: Collection[str] = ()) -> dict[str, str]:
        """The stored summary of each of `guids` that is stored (for exports of a view whose
        headlines were kept in memory without their summaries); the topics files' copy
        first, then those of `viewer_feeds`."""
        scopes = ["", *viewer_feeds]
        found: dict[str, str] = {}
        with self._connect() as db:
            for start in range(0, len(guids), 500):  # SQLite caps the parameters of a query
                chunk = guids[start : start + 500]
                rows = db.execute(
                    f"SELECT guid, summary, scope FROM headline WHERE guid IN "
                    f"({','.join('?' * len(chunk))}) "
                    f"AND scope IN ({','.join('?' * len(scopes))})",
                    [*chunk, *scopes],
                ).fetchall()
                # The topic's copy ('' sorts first) wins over a viewer's.
                for guid, summary, _ in sorted(rows, key=lambda row: row[2], reverse=True):
                    found[guid] = summary
        return found

    def count(self) -> int:
        """How many headlines are stored."""
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM headline").fetchone()[0])

    def version(self) -> int:
        """A number that changes whenever the stored headlines change (for caches).

        The page asks on every run: on SQLite this reads through one connection kept open
        (`Sqlite.kept_read`) instead of opening one per call.
        """
        rows = self._db.kept_read("SELECT value FROM meta WHERE key = 'version'")
        return int(rows[0][0]) if rows else 0

    def status(self) -> StoreStatus:
        """What a health check reports: the schema and data versions, how many headlines,
        and when the newest was stored and a feed last fetched (read only)."""
        with self._connect() as db:
            schema = recorded_version(db, self._db)
            row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            count, stored = db.execute("SELECT COUNT(*), MAX(first_seen) FROM headline").fetchone()
            (fetched,) = db.execute("SELECT MAX(last_attempt) FROM feed").fetchone()
        return StoreStatus(
            schema=schema or 0,
            version=int(row[0]) if row else 0,
            headlines=int(count),
            last_stored=_moment(stored),
            last_fetch=_moment(fetched),
        )

    @staticmethod
    def _bump_version(db: Connection) -> None:
        db.execute(
            "INSERT INTO meta AS m (key, value) VALUES ('version', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(m.value AS BIGINT) + 1 AS TEXT)"
        )

    # --- feeds -----------------------------------------------------------------------------

    def feed_states(
        self, urls: Sequence[str], viewer_feeds: Collection[str] = ()
    ) -> dict[str, FeedState]:
        """What is remembered of each URL; a URL never fetched gets an empty state.

        URLs in `viewer_feeds` are read as a viewer's fetches of them, the others as the
        topics files' (the same URL in both is two feeds with states of their own).
        """
        states = {url: FeedState(url=url) for url in urls}
        if not urls:
            return states
        with self._connect() as db:
            rows = db.execute(
                "SELECT url, etag, last_modified, body_hash, feed_title, last_attempt, "
                "last_success, failing_since, last_status, http_status, last_error, items, "
                "elapsed_ms, failures, retry_at, scope, error_kind, error_data FROM feed "
                f"WHERE url IN ({','.join('?' * len(urls))})",
                list(urls),
            ).fetchall()
        for row in rows:
            if row[15] != scope_of(row[0], viewer_feeds):
                continue  # the same URL fetched for the other kind of feed
            states[row[0]] = FeedState(
                url=row[0],
                etag=row[1],
                last_modified=row[2],
                body_hash=row[3],
                feed_title=row[4],
                last_attempt=_moment(row[5]),
                last_success=_moment(row[6]),
                failing_since=_moment(row[7]),
                last_status=FetchStatus(row[8]) if row[8] else None,
                http_status=row[9],
                last_error=_failure_words(row[16], row[17], row[10]),
                items=row[11],
                elapsed_ms=row[12],
                failures=row[13],
                retry_at=_moment(row[14]),
                kind=_kind(row[16]),
                failure_data=_data(row[17]),
            )
        return states

    def record_feeds(
        self,
        outcomes: Iterable[FeedSuccess | FeedFailure],
        now: datetime,
        viewer_feeds: Collection[str] = (),
        owner: str | None = None,
    ) -> None:
        """Remember how each feed fared at `now`, in order, all in one transaction; URLs in
        `viewer_feeds` as a viewer's fetches of them (see `feed_states`). With `owner`, that
        loop's claims on the feeds are given back too (see `release_feeds`).

        A success clears the failure count and any backoff. A failure keeps validators,
        hash and headlines as they were, and counts one more failure in a row.
        """
        self._record(FeedsDone(list(outcomes), now, viewer_feeds, owner))

    def _record(self, done: FeedsDone | None) -> None:
        """Write `done` in a transaction of its own (nothing when it holds no outcome)."""
        if done is None or not done.outcomes:
            return
        with self._connect() as db:
            # One transaction (and connection) for a whole refresh, not one per feed: a
            # commit costs more than the row. Killed midway, none of it is written.
            db.begin_write()
            _write_done(db, done)
            db.commit()

    # --- work shared by refresher loops -----------------------------------------------------
    #
    # Loops on one store share the topics' feeds through claims that expire: a loop takes a
    # batch of due feeds (`claim_feeds`), fetches them, and gives them back (`release_feeds`).
    # SQLite lets one writer in at a time (BEGIN IMMEDIATE), so two loops never take the same
    # feed. On PostgreSQL the due rows are taken with SELECT ... FOR UPDATE SKIP LOCKED
    # (`Postgres.lock_due`), which lets loops take different rows at once. Times are
    # wall-clock seconds.

    def claim_feeds(
        self,
        owner: str,
        topics: Mapping[str, Sequence[str]],
        now: datetime,
        every: timedelta,
        lease: timedelta,
        limit: int,
    ) -> list[str]:
        """Claim up to `limit` of the topics' feed URLs for `owner` until `now + lease`;
        return them. A feed is due when nobody holds an unexpired claim on it and it was not
        taken up in the last `every`, or a refresh of one of its topics was asked since.
        Feeds asked for come first, then those waiting longest."""
        urls = {url for feeds in topics.values() for url in feeds}
        if not urls or limit <= 0:
            return []
        seconds = _epoch(now)
        period = every.total_seconds()
        with self._connect() as db:
            # A look without the write lock first: most polls find nothing due, and a
            # loop polling every few seconds should not hold the store's one writer slot.
            due = self._due(db, topics, urls, seconds, period)
            if not due:
                return []
            if self._db.skip_locked:
                # PostgreSQL: rows missing are made first (each its own commit), then the
                # due rows are locked with SKIP LOCKED, so loops claim different feeds at once.
                self._add_claim_rows(db, due)
                db.begin_rows()
                chosen = self._db.lock_due(db, due, seconds, period, limit)
            else:
                db.begin_write()
                due = self._due(db, topics, urls, seconds, period)  # again, under the lock
                self._add_claim_rows(db, due)
                chosen = [(rank, url) for rank, _, url, _ in sorted(due)[:limit]]
            db.executemany(
                "UPDATE feed_claim SET owner = ?, claimed_at = ?, claimed_until = ? "
                "WHERE scope = '' AND url = ?",
                # A feed taken up for a request counts as taken at the request at least, so
                # a request dated ahead of this clock (another machine's) is answered once.
                [(owner, max(seconds, -rank), _epoch(now + lease), url) for rank, url in chosen],
            )
            db.commit()
        return [url for _, url in chosen]

    @staticmethod
    def _add_claim_rows(db: Connection, due: list[tuple[int, int, str, bool]]) -> None:
        """Make the claim rows of the due feeds that have none (in one order for every
        loop, so two loops making the same rows wait for each other, never deadlock)."""
        missing = sorted(url for _, _, url, known in due if not known)
        db.executemany(
            "INSERT INTO feed_claim (scope, url) VALUES ('', ?) ON CONFLICT DO NOTHING",
            [(url,) for url in missing],
        )

    def _due(
        self,
        db: Connection,
        topics: Mapping[str, Sequence[str]],
        urls: set[str],
        seconds: int,
        period: float,
    ) -> list[tuple[int, int, str, bool]]:
        """The due feeds among `urls`, each as (rank, last fetched, url, has a row): rank is
        minus the time of the request it answers (0 for none), so feeds asked for sort
        first (PostgreSQL's `lock_due` says the same in SQL)."""
        asked = self._asked(db, list(topics))
        asked_of: dict[str, int] = {}
        for topic, feeds in topics.items():
            if topic in asked:
                for url in feeds:
                    asked_of[url] = max(asked_of.get(url, 0), asked[topic])
        # Every row of the topics' scope, filtered here: cheaper than an IN list of
        # thousands of parameters (the table holds only feeds of topics files).
        rows = db.execute(
            "SELECT url, fetched_at, claimed_until FROM feed_claim WHERE scope = ''"
        ).fetchall()
        known = set()
        due = []
        for url, fetched, until in rows:
            if url not in urls:
                continue
            known.add(url)
            if until is not None and until > seconds:
                continue  # held by a loop
            request = asked_of.get(url, 0)
            if fetched is None or fetched + period <= seconds or fetched < request:
                due.append((-request if fetched is None or fetched < request else 0,
                            fetched or 0, url, True))  # fmt: skip
        due += [(-asked_of.get(url, 0), 0, url, False) for url in urls - known]
        return due

    # --- viewers' own feeds -------------------------------------------------------------------

    def viewer_feeds(self, browser: str, seen: datetime | None = None) -> list[ViewerFeed]:
        """The feeds `browser` added, in the order added, each with its fetched title.

        `seen`: the browser's page reads them now, which keeps them from being pruned
        (`prune`); written at most once a day per browser, so a page open stays a read."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT v.url, v.name, f.feed_title, v.seen_at FROM viewer_feed v "
                "LEFT JOIN feed f ON f.scope = v.url AND f.url = v.url "
                "WHERE v.browser = ? ORDER BY v.place",
                (browser,),
            ).fetchall()
        if seen is not None and rows and min(row[3] for row in rows) < _epoch(seen) - _DAY:
            with self._connect() as db:
                db.begin_write()
                db.execute(
                    "UPDATE viewer_feed SET seen_at = ? WHERE browser = ?",
                    (_epoch(seen), browser),
                )
                db.commit()
        return [ViewerFeed(url=url, name=name, title=title) for url, name, title, _ in rows]

    def add_viewer_feeds(
        self, browser: str, feeds: Sequence[tuple[str, str | None]], now: datetime, limit: int
    ) -> int:
        """Keep `feeds` (url, name) for `browser`, in order, while it has fewer than `limit`
        (checked in the same transaction: two tabs adding at once stay within it); a URL it
        has already is left as it is. Returns how many were added."""
        with self._connect() as db:
            db.begin_write()
            have, last = db.execute(
                "SELECT COUNT(*), COALESCE(MAX(place), 0) FROM viewer_feed WHERE browser = ?",
                (browser,),
            ).fetchone()
            room = max(0, limit - have)
            added = 0
            for url, name in feeds:
                if added >= room:
                    break
                cursor = db.execute(
                    "INSERT INTO viewer_feed (browser, url, name, place, added_at, seen_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (browser, url) DO NOTHING",
                    (browser, url, name, last + added + 1, _epoch(now), _epoch(now)),
                )
                added += max(0, cursor.rowcount)
            db.commit()
        return added

    def remove_viewer_feed(self, browser: str, url: str) -> None:
        """Forget `url` among `browser`'s feeds (its headlines age out like any)."""
        with self._connect() as db:
            db.begin_write()
            db.execute("DELETE FROM viewer_feed WHERE browser = ? AND url = ?", (browser, url))
            db.commit()

    def release_feeds(self, owner: str, urls: Sequence[str]) -> None:
        """Give back `owner`'s claims on `urls`, their fetch done: each counts as fetched
        when it was claimed. A claim that expired and went to another loop is left alone."""
        if not urls:
            return
        with self._connect() as db:
            db.begin_write()
            db.executemany(_RELEASE_CLAIM, [(url, owner) for url in urls])
            db.commit()

    @staticmethod
    def _asked(db: Connection, topics: Sequence[str]) -> dict[str, int]:
        if not topics:
            return {}
        rows = db.execute(
            "SELECT topic, asked_at FROM refresh_request "
            f"WHERE topic IN ({','.join('?' * len(topics))})",
            list(topics),
        ).fetchall()
        return dict(rows)

    def refresh_state(self, topic: str, urls: Sequence[str], now: datetime) -> RefreshState:
        """When a refresh of `topic` (with feeds `urls`) was last asked and last taken up,
        whether the last request is still waiting for a feed, and how many of the feeds a
        loop holds at `now` (being fetched)."""
        with self._connect() as db:
            return self._refresh_state(db, topic, urls, now)

    def _refresh_state(
        self, db: Connection, topic: str, urls: Sequence[str], now: datetime
    ) -> RefreshState:
        asked = self._asked(db, [topic]).get(topic)
        rows = (
            db.execute(
                "SELECT claimed_at, fetched_at, claimed_until FROM feed_claim WHERE scope = '' "
                f"AND url IN ({','.join('?' * len(urls))})",
                list(urls),
            ).fetchall()
            if urls
            else []
        )
        taken = max((claimed for claimed, _, _ in rows if claimed is not None), default=None)
        fetched = {fetched for _, fetched, _ in rows}
        waiting = asked is not None and (
            len(rows) < len(urls) or any(f is None or f < asked for f in fetched)
        )
        held = sum(1 for _, _, until in rows if until is not None and until > _epoch(now))
        return RefreshState(_moment(asked), _moment(taken), waiting, held)

    def request_refresh(
        self,
        topic: str,
        urls: Sequence[str],
        now: datetime,
        min_interval: timedelta = MIN_REFRESH_INTERVAL,
    ) -> bool:
        """Ask the refresher loops to refresh `topic` (feeds `urls`) now; False, and nothing
        recorded, when it was refreshed or asked less than `min_interval` ago (by anyone)."""
        with self._connect() as db:
            db.begin_write()
            state = self._refresh_state(db, topic, urls, now)
            if not refresh_allowed(state, now, min_interval):
                db.rollback()
                return False
            db.execute(
                "INSERT INTO refresh_request (topic, asked_at) VALUES (?, ?) "
                "ON CONFLICT(topic) DO UPDATE SET asked_at = excluded.asked_at",
                (topic, _epoch(now)),
            )
            db.commit()
        return True

    # --- copying a whole store (`python -m lib copy-store`) -----------------------------------
    #
    # Table by table, in chunks, through plain SELECT and INSERT that both backends read
    # alike. Ids are copied as they are: a story's first report and the stored versions
    # refer to them. Claims are copied without their holders (no loop holds a feed of a new
    # store), so the copy's feeds are due when the original's were.

    def is_empty(self) -> bool:
        """No headline, feed state, story or claim is stored (a store just made)."""
        with self._connect() as db:
            return not any(
                db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                for table in COPIED_TABLES
                if table != "meta"
            )

    def copy_rows(self, table: str, chunk: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of `table` (one of `COPIED_TABLES`) in chunks of up to `chunk`, as
        tuples of its `COPIED_TABLES` columns, in key order."""
        columns, key = COPIED_TABLES[table]
        after: tuple[Any, ...] | None = None
        while True:
            where, params = "", []
            if after is not None:  # keyset paging: each chunk costs the same
                where = f" WHERE ({', '.join(key)}) > ({', '.join('?' * len(key))})"
                params = list(after)
            with self._connect() as db:
                rows = db.execute(
                    f"SELECT {', '.join(columns)} FROM {table}{where} "
                    f"ORDER BY {', '.join(key)} LIMIT ?",
                    [*params, chunk],
                ).fetchall()
            if table == "meta":  # the copy's own schema version stays
                rows = [row for row in rows if row[0] != "schema"]
            if rows:
                yield [tuple(row) for row in rows]
            if len(rows) < chunk:
                return
            last = rows[-1]
            after = tuple(last[columns.index(name)] for name in key)

    def put_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Write rows read by `copy_rows` into `table` in one transaction; a key already
        there is overwritten (meta: the version and next story id of the original)."""
        if not rows:
            return
        columns, key = COPIED_TABLES[table]
        rest = [name for name in columns if name not in key]
        update = ", ".join(f"{name} = excluded.{name}" for name in rest)
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {update}"
        )
        with self._connect() as db:
            db.begin_write()
            db.executemany(sql, [list(row) for row in rows])
            if "id" in key:
                self._db.ids_copied(db, table)
            db.commit()

    def current_version(self) -> int:
        """The store's version, read on a connection of its own: a look that notices the
        store going away (`version` keeps one connection open, which may go on reading a
        file moved or deleted meanwhile)."""
        with self._connect() as db:
            return _read_version(db)

    def holders(self, now: datetime) -> dict[str, str]:
        """Which loop (its owner id) holds each topics feed claimed at `now`: for operators
        and tests that must know who is fetching what."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT url, owner FROM feed_claim WHERE scope = '' AND owner IS NOT NULL "
                "AND claimed_until > ?",
                (_epoch(now),),
            ).fetchall()
        return dict(rows)


# What `python -m lib copy-store` copies: each table's columns and key. The schema version
# ('schema' in meta) is the copy's own; a claim's holder is not copied.
COPIED_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meta": (("key", "value"), ("key",)),
    "headline": (
        ("id", "scope", "guid", "canon_link", "source", "title", "link", "publication", "label",
         "published", "time_kind", "first_seen", "summary", "stored_version", "story"),
        ("id",),
    ),
    "story": (("id", "first_report"), ("id",)),
    "feed": (
        ("scope", "url", "etag", "last_modified", "body_hash", "feed_title", "last_attempt",
         "last_success", "failing_since", "last_status", "http_status", "last_error", "items",
         "elapsed_ms", "failures", "retry_at", "error_kind", "error_data"),
        ("scope", "url"),
    ),
    "feed_claim": (("scope", "url", "claimed_at", "fetched_at"), ("scope", "url")),
    "refresh_request": (("topic", "asked_at"), ("topic",)),
    "viewer_feed": (("browser", "url", "name", "place", "added_at", "seen_at"),
                    ("browser", "url")),
}  # fmt: skip


# A browser's own feeds are kept while its page reads them, and as long again as the consent
# cookie that names the browser lives (ui/consent.py: a year) once it stops: after that no
# page can ask for them.
VIEWER_FEEDS_KEPT = timedelta(days=365)
_DAY = 24 * 3600


@dataclass(frozen=True, slots=True)
class ViewerFeed:
    """A feed a viewer's browser added: its address, the name it was given (an OPML file's
    title) and the title the feed itself gives (once fetched)."""

    url: str
    name: str | None
    title: str | None


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """A store's state for health checks (times as stored: the display clock, if set)."""

    schema: int
    version: int
    headlines: int
    last_stored: datetime | None
    last_fetch: datetime | None


@dataclass(frozen=True, slots=True)
class RefreshState:
    """Where the refreshing of one topic stands (wall-clock times)."""

    asked_at: datetime | None  # the last "Refresh now", by anyone
    taken_at: datetime | None  # the last time a loop took up one of its feeds
    waiting: bool  # the last request has feeds not taken up since
    fetching: int = 0  # feeds a loop holds now


def refresh_allowed(
    state: RefreshState, now: datetime, min_interval: timedelta = MIN_REFRESH_INTERVAL
) -> bool:
    """Whether "Refresh now" may ask again: not within `min_interval` of the last refresh
    or request of the topic, whoever made it."""
    last = max((t for t in (state.asked_at, state.taken_at) if t is not None), default=None)
    return last is None or now - last >= min_interval


_RELEASE_CLAIM = (
    "UPDATE feed_claim SET owner = NULL, claimed_until = NULL, "
    "fetched_at = claimed_at WHERE scope = '' AND url = ? AND owner = ?"
)


def _write_done(db: Connection, done: FeedsDone | None) -> None:
    """Record `done` inside the caller's write transaction."""
    if done is None or not done.outcomes:
        return
    seconds = _epoch(done.now)
    for outcome in done.outcomes:
        scope = scope_of(outcome.url, done.viewer_feeds)
        if isinstance(outcome, FeedSuccess):
            db.execute(_RECORD_SUCCESS, (scope, *_success_row(outcome, seconds)))
        else:
            db.execute(_RECORD_FAILURE, (scope, *_failure_row(outcome, seconds)))
    if done.owner is not None:
        db.executemany(_RELEASE_CLAIM, [(o.url, done.owner) for o in done.outcomes])


_RECORD_SUCCESS = (
    "INSERT INTO feed AS f (scope, url, etag, last_modified, body_hash, feed_title, last_attempt, "
    "last_success, failing_since, last_status, http_status, last_error, items, "
    "elapsed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, ?, ?) "
    "ON CONFLICT(scope, url) DO UPDATE SET "
    "etag = COALESCE(excluded.etag, f.etag), "
    "last_modified = COALESCE(excluded.last_modified, f.last_modified), "
    "body_hash = COALESCE(excluded.body_hash, f.body_hash), "
    "feed_title = COALESCE(excluded.feed_title, f.feed_title), "
    "last_attempt = excluded.last_attempt, last_success = excluded.last_success, "
    "failing_since = NULL, last_status = excluded.last_status, "
    "http_status = excluded.http_status, last_error = NULL, error_kind = NULL, "
    "error_data = NULL, "
    "items = COALESCE(excluded.items, f.items), elapsed_ms = excluded.elapsed_ms, "
    "failures = 0, retry_at = NULL"
)

_RECORD_FAILURE = (
    "INSERT INTO feed AS f (scope, url, last_attempt, failing_since, last_status, http_status, "
    "last_error, elapsed_ms, failures, retry_at, error_kind, error_data) "
    "VALUES (?, ?, ?, ?, 'failed', ?, ?, ?, 1, ?, ?, ?) "
    "ON CONFLICT(scope, url) DO UPDATE SET last_attempt = excluded.last_attempt, "
    "failing_since = COALESCE(f.failing_since, excluded.failing_since), "
    "last_status = 'failed', http_status = excluded.http_status, "
    "last_error = excluded.last_error, elapsed_ms = excluded.elapsed_ms, "
    "failures = f.failures + 1, retry_at = excluded.retry_at, "
    "error_kind = excluded.error_kind, error_data = excluded.error_data"
)


def scope_of(url: str, viewer_feeds: Collection[str]) -> str:
    """The scope a feed's headlines and state are stored under: its URL for a viewer's feed."""
    return url if url in viewer_feeds else ""


def _success_row(s: FeedSuccess, seconds: int) -> tuple[object, ...]:
    return (s.url, s.etag, s.last_modified, s.body_hash, s.feed_title, seconds, seconds,
            s.status, s.http_status, s.items, s.elapsed_ms)  # fmt: skip


def _failure_row(f: FeedFailure, seconds: int) -> tuple[object, ...]:
    retry = _epoch(f.retry_at) if f.retry_at else None
    data = None if f.data is None else json.dumps(dict(f.data), sort_keys=True)
    return (f.url, seconds, seconds, f.http_status, f.error, f.elapsed_ms, retry, str(f.kind),
            data)  # fmt: skip


def _data(stored: str | None) -> dict[str, Any] | None:
    try:
        data = json.loads(stored) if stored else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _failure_words(kind: str | None, data: str | None, stored: str | None) -> str | None:
    """A failure's words, made from its kind and data (`lib.errors.failure_message`); the
    stored words when there is no data (a failure stored before kinds) or they do not fit."""
    if kind is None or data is None:
        return stored
    try:
        return failure_message(FailureKind(kind), json.loads(data))
    except (ValueError, KeyError, TypeError):  # written by a newer release: its own words
        return stored


def _kind(value: str | None) -> FailureKind | None:
    """The stored kind; one this release does not know (a newer one wrote it) is OTHER."""
    if value is None:
        return None
    try:
        return FailureKind(value)
    except ValueError:
        return FailureKind.OTHER
