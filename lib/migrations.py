"""The store's schema, as numbered migrations from an empty file to this release's layout.

The schema version is kept in the store (`meta`, key 'schema'). Opening a store applies the
migrations it lacks, all in one transaction: killed midway, the store stays as it was. A
store made before versions were kept is recognised by its layout. A store whose version is
newer than this release knows is refused, and nothing in it is changed.

Each step is a list of SQL statements. New steps are added at the end and never edited
once released. SQLite and PostgreSQL stores take the same steps, written once in SQLite's
types (`lib.storedb` gives PostgreSQL its own: BIGINT ids and times); a step that only SQLite
needs (rebuilding a table to change its key) says so and has PostgreSQL's form beside it
(`POSTGRES_STEPS`). A PostgreSQL store always records its version (it has no stores from
before versions), so recognising a layout only ever matters for SQLite files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lib.errors import FailureKind
from lib.storedb import Database, Sqlite

SCHEMA_KEY = "schema"

_FEED_BASE = """
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    feed_title TEXT,
    last_attempt INTEGER,
    last_success INTEGER,
    failing_since INTEGER,
    last_status TEXT,
    http_status INTEGER,
    last_error TEXT,
    items INTEGER,
    elapsed_ms REAL"""

# 1: the first release's layout.
_STEP_1 = (
    """CREATE TABLE IF NOT EXISTS headline (
    id INTEGER PRIMARY KEY,
    guid TEXT NOT NULL,
    canon_link TEXT,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT,
    publication TEXT NOT NULL,
    label TEXT,
    published INTEGER NOT NULL,  -- seconds since the epoch, UTC
    time_kind TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    summary TEXT NOT NULL DEFAULT ''
)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS headline_guid ON headline(guid)",
    "CREATE UNIQUE INDEX IF NOT EXISTS headline_canon_link ON headline(canon_link) "
    "WHERE canon_link IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS headline_published ON headline(published)",
    f"CREATE TABLE IF NOT EXISTS feed (\n    url TEXT PRIMARY KEY,{_FEED_BASE}\n)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

# 2: backoff for failing feeds.
_STEP_2 = (
    "ALTER TABLE feed ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",  # failures in a row
    "ALTER TABLE feed ADD COLUMN retry_at INTEGER",  # no request before this time
)

# 3 (issue 14): a scope per headline and feed state: '' for the topics files' feeds, a
# viewer feed's own URL for what a viewer added, so neither can stand in for the other.
FEED_COLUMNS = f"""(
    scope TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,{_FEED_BASE},
    failures INTEGER NOT NULL DEFAULT 0,  -- consecutive failed attempts
    retry_at INTEGER,  -- no request before this time (Retry-After, or backoff after failures)
    PRIMARY KEY (scope, url)
)"""
_FEED_NAMES = (
    "url, etag, last_modified, body_hash, feed_title, last_attempt, last_success, "
    "failing_since, last_status, http_status, last_error, items, elapsed_ms, failures, retry_at"
)
_STEP_3 = (
    "ALTER TABLE headline ADD COLUMN scope TEXT NOT NULL DEFAULT ''",
    # The global unique indexes let a viewer's feed keep a topic's copy of an item out.
    "DROP INDEX IF EXISTS headline_guid",
    "DROP INDEX IF EXISTS headline_canon_link",
    "CREATE UNIQUE INDEX IF NOT EXISTS headline_scope_guid ON headline(scope, guid)",
    "CREATE UNIQUE INDEX IF NOT EXISTS headline_scope_canon_link ON headline(scope, canon_link) "
    "WHERE canon_link IS NOT NULL",
    # The key becomes (scope, url). SQLite only: it changes a primary key only through a
    # new table (PostgreSQL's form is `_STEP_3_POSTGRES`).
    f"CREATE TABLE feed_scoped {FEED_COLUMNS}",
    f"INSERT INTO feed_scoped ({_FEED_NAMES}) SELECT {_FEED_NAMES} FROM feed",
    "DROP TABLE feed",
    "ALTER TABLE feed_scoped RENAME TO feed",
)

_STEP_3_POSTGRES = (
    *_STEP_3[:5],
    "ALTER TABLE feed ADD COLUMN scope TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE feed DROP CONSTRAINT feed_pkey",
    "ALTER TABLE feed ADD PRIMARY KEY (scope, url)",
)

# 4 (issue 9): work shared by refresher loops through the store. A claim per feed with an
# expiry (a loop that dies loses its claims when they expire) and when the feed was last
# taken up for fetching; a "Refresh now" request per topic. Times are wall-clock seconds.
_STEP_4 = (
    """CREATE TABLE feed_claim (
    scope TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,
    owner TEXT,  -- the loop holding it, NULL when free
    claimed_at INTEGER,  -- when it was last taken (held or not)
    claimed_until INTEGER,  -- the holder's claim expires then
    fetched_at INTEGER,  -- when the last fetch that finished was taken up
    PRIMARY KEY (scope, url)
)""",
    """CREATE TABLE refresh_request (
    topic TEXT PRIMARY KEY,
    asked_at INTEGER NOT NULL
)""",
)

# Each headline keeps the store version its save made, so a reader reads on from the version
# it last saw (`Store.headlines_after`). Rows stored before get 0: a reader's first read is
# whole anyway.
_STEP_5 = (
    "ALTER TABLE headline ADD COLUMN stored_version INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX headline_scope_stored ON headline(scope, stored_version)",
)

# 6 (issue 9): stories assigned as headlines are stored (lib/stories.py, `StoryAssigner`).
# Each topics-file headline keeps its story's id (NULL in a viewer's scope: those small sets
# are grouped when read); a story keeps its first report (the row of its earliest headline,
# as assigned: pruning may delete that row before the story's later ones). The next story
# id is kept in `meta` (key 'next_story'), so ids are never given twice, even after a prune.
# The store's headlines of the topics' scope are assigned by `Store` right after this step,
# in the same transaction (Python, not SQL: `lib.store.assign_unassigned`).
_STEP_6 = (
    "ALTER TABLE headline ADD COLUMN story INTEGER",
    "CREATE INDEX headline_scope_story ON headline(scope, story)",
    """CREATE TABLE story (
    id INTEGER PRIMARY KEY,
    first_report INTEGER NOT NULL  -- headline.id of its earliest headline
)""",
)

# 7 (issue 12): a feed's last failure keeps its kind (`lib.errors.FailureKind`) beside its
# HTTP status, for the advice to dispatch on, and the kind's data (JSON: seconds, byte
# limit, TLS reason, …), from which its words are made when read; `last_error` keeps the
# words too (what a release before this one reads). Failures stored before get their kind
# from their words once, right after this step, in the same transaction (Python:
# `derive_error_kinds`); having no data, they keep showing their stored words.
_STEP_7 = (
    "ALTER TABLE feed ADD COLUMN error_kind TEXT",
    "ALTER TABLE feed ADD COLUMN error_data TEXT",
)

# 8 (issue 13): the feeds a viewer added, kept per browser (a random id in the consent
# cookie, ui/consent.py) so they survive a reload and any server process. `name` is the
# title an OPML file gave the feed; NULL shows the feed's own title once fetched.
_STEP_8 = (
    """CREATE TABLE viewer_feed (
    browser TEXT NOT NULL,
    url TEXT NOT NULL,
    name TEXT,
    place INTEGER NOT NULL,  -- the list's order: the browser's next place when added
    added_at INTEGER NOT NULL,  -- seconds since the epoch, UTC
    PRIMARY KEY (browser, url)
)""",
)

# 9: when a browser's feeds were last read by its page (`seen_at`, seconds since the epoch,
# UTC), so those of a browser gone for longer than its consent cookie lives are pruned
# (`Store.prune`) instead of kept for ever.
_STEP_9 = (
    "ALTER TABLE viewer_feed ADD COLUMN seen_at INTEGER NOT NULL DEFAULT 0",
    "UPDATE viewer_feed SET seen_at = added_at",
)

# The migrations in order: MIGRATIONS[n - 1] takes a store from version n - 1 to n.
MIGRATIONS: tuple[Sequence[str], ...] = (
    _STEP_1, _STEP_2, _STEP_3, _STEP_4, _STEP_5, _STEP_6, _STEP_7, _STEP_8, _STEP_9,
)  # fmt: skip
STORIES = 6  # the first version whose headlines have stories
ERROR_KINDS = 7  # the first version whose feed failures keep their kind
LATEST = len(MIGRATIONS)


# Steps PostgreSQL takes in a form of its own (the number: the statements).
POSTGRES_STEPS: dict[int, Sequence[str]] = {3: _STEP_3_POSTGRES}

_SQLITE = Sqlite(Path())  # the layout questions of a bare sqlite3 connection (tests)


def recorded_version(db: Any, database: Database = _SQLITE) -> int | None:
    """The schema version the store records, or None (an empty store, or a SQLite file
    made before versions were kept). `db` is a connection to `database`."""
    if "meta" not in database.tables(db):
        return None
    row = db.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)).fetchone()
    return None if row is None else int(row[0])


def schema_version(db: Any, database: Database = _SQLITE) -> int:
    """The store's schema version: the one it records, or else what its layout shows
    (SQLite files made before versions were kept); 0 for an empty store."""
    recorded = recorded_version(db, database)
    if recorded is not None:
        return recorded
    if "headline" not in database.tables(db):
        return 0
    feed = database.columns(db, "feed")
    if "scope" in feed:
        return 3
    return 2 if "retry_at" in feed else 1


def steps(database: Database) -> tuple[Sequence[str], ...]:
    """The migrations as `database` takes them, in its column types."""
    own = POSTGRES_STEPS if database.kind == "postgresql" else {}
    return tuple(
        [database.ddl(statement) for statement in own.get(number, step)]
        for number, step in enumerate(MIGRATIONS, start=1)
    )


def migrate(db: Any, start: int, database: Database = _SQLITE) -> int:
    """Apply the steps after version `start` (inside the caller's write transaction) and
    record the new version; return it."""
    for step in steps(database)[start:]:
        for statement in step:
            db.execute(statement)
    db.execute(
        "INSERT INTO meta AS m (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (SCHEMA_KEY, str(LATEST)),
    )
    return LATEST


# The words releases before ERROR_KINDS stored for a failure, to its kind; the first that
# matches wins, in the order the advice used to be chosen, so each failure keeps its advice.
_KIND_OF_WORDS: tuple[tuple[re.Pattern[str], FailureKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"HTTP \d+", FailureKind.HTTP),
        (r"timed out", FailureKind.TIMEOUT),
        (r"host not found|DNS", FailureKind.DNS),
        (r"connection refused", FailureKind.REFUSED),
        (r"connection reset", FailureKind.RESET),
        (r"connection (closed|aborted)", FailureKind.CLOSED),
        (r"TLS|SSL|certificate", FailureKind.TLS),
        (r"redirect loop", FailureKind.REDIRECT_LOOP),
        (r"too many redirects", FailureKind.TOO_MANY_REDIRECTS),
        (r"redirect", FailureKind.BAD_REDIRECT),
        (r"larger than", FailureKind.TOO_LARGE),
        (r"HTML page|web page", FailureKind.HTML),
        (r"JSON", FailureKind.JSON),
        (r"entities", FailureKind.ENTITIES),
        (r"parsing took longer", FailureKind.PARSE_TIMEOUT),
        (r"XML but not a feed", FailureKind.NOT_A_FEED),
        (r"malformed|XML error", FailureKind.MALFORMED),
        (r"not XML|not a feed", FailureKind.NOT_XML),
        (r"empty response|no feed", FailureKind.EMPTY),
        (r"private address|loopback|only http|not allowed|credentials", FailureKind.UNSAFE),
        (r"decompress", FailureKind.DECOMPRESS),
    )
)  # fmt: skip


def kind_of_words(error: str) -> FailureKind:
    """The kind of a failure stored in words only (before `ERROR_KINDS`)."""
    for pattern, kind in _KIND_OF_WORDS:
        if pattern.search(error):
            return kind
    return FailureKind.OTHER


def derive_error_kinds(db: Any) -> int:
    """Give each failure stored before `ERROR_KINDS` its kind, from its words; its words
    and status stay. Runs once, in the upgrade's transaction; returns the rows given one."""
    rows = db.execute(
        "SELECT scope, url, last_error FROM feed "
        "WHERE last_error IS NOT NULL AND error_kind IS NULL"
    ).fetchall()
    for scope, url, error in rows:
        db.execute(
            "UPDATE feed SET error_kind = ? WHERE scope = ? AND url = ?",
            (str(kind_of_words(error)), scope, url),
        )
    return len(rows)
