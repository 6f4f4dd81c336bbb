"""Numbered schema migrations: stores made by earlier releases open, upgrade and keep
everything; a store from a newer release is refused and left as it was."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.errors import StoreError
from lib.migrations import LATEST, SCHEMA_KEY, schema_version, steps
from lib.model import Headline
from lib.store import FeedFailure, Store
from lib.storedb import Address, open_database
from tests.storesql import execute, query

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
FEED = "https://example.com/feed"
VIEWER = "https://viewer.test/rss"

# The exact layout the release before schema versions made (issue 14: scoped headlines and
# feed states), copied from its lib/store.py. It records no schema version.
SCOPED_LAYOUT = """
CREATE TABLE IF NOT EXISTS headline (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL DEFAULT '',
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
);
CREATE TABLE IF NOT EXISTS feed (
    scope TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,
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
    elapsed_ms REAL,
    failures INTEGER NOT NULL DEFAULT 0,  -- consecutive failed attempts
    retry_at INTEGER,  -- no request before this time (Retry-After, or backoff after failures)
    PRIMARY KEY (scope, url)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS headline_scope_guid ON headline(scope, guid);
CREATE UNIQUE INDEX IF NOT EXISTS headline_scope_canon_link ON headline(scope, canon_link)
    WHERE canon_link IS NOT NULL;
CREATE INDEX IF NOT EXISTS headline_published ON headline(published);
"""


def scoped_store(path: Path, count: int) -> None:
    """A store as the release before versions left it: topic and viewer headlines, feed
    states in both scopes (one backing off), and a data version."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCOPED_LAYOUT)
    published = int((NOW - timedelta(hours=1)).timestamp())
    rows = [
        ("", f"g{i}", f"https://x.test/{i}", FEED, f"Old {i}", f"https://x.test/{i}", "Pub",
         "Video" if i % 2 else None, published - i, "published", published, f"s{i}")
        for i in range(count)
    ]  # fmt: skip
    rows.append((VIEWER, "v1", None, VIEWER, "Mine", None, "Me", None,
                 published, "seen", published, ""))  # fmt: skip
    db.executemany(
        "INSERT INTO headline (scope, guid, canon_link, source, title, link, publication, "
        "label, published, time_kind, first_seen, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.execute(
        "INSERT INTO feed (scope, url, etag, last_modified, body_hash, feed_title, last_attempt, "
        "last_success, failing_since, last_status, http_status, last_error, items, elapsed_ms, "
        "failures, retry_at) VALUES ('', ?, '\"v7\"', 'Tue, 17 Sep 2024 10:00:00 GMT', 'h7', "
        "'The Feed', ?, ?, ?, 'failed', 503, 'HTTP 503', 12, 80.5, 3, ?)",
        (FEED, published + 60, published, published + 30, published + 3600),
    )
    db.execute(
        "INSERT INTO feed (scope, url, etag, last_status, failures) VALUES (?, ?, 'e', 'ok', 0)",
        (VIEWER, VIEWER),
    )
    db.execute("INSERT INTO meta VALUES ('version', '41')")
    db.commit()
    db.close()


# SQLite only: stores made before schema versions were kept are SQLite files; a PostgreSQL
# store always records its version (its upgrades from numbered versions are tested below).
def test_a_store_made_by_the_release_before_versions_upgrades_and_keeps_everything(
    tmp_path: Path,
) -> None:
    path = tmp_path / "news.db"
    scoped_store(path, 200)
    with sqlite3.connect(path) as db:
        assert schema_version(db) == 3  # recognised by its layout
    store = Store(path)
    with sqlite3.connect(path) as db:
        (recorded,) = db.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)).fetchone()
    assert int(recorded) == LATEST
    since = NOW - timedelta(days=7)
    kept = store.headlines(since)
    assert len(kept) == 200 and store.count() == 201
    assert (kept[0].title, kept[0].summary, kept[1].label) == ("Old 0", "s0", "Video")
    assert [h.title for h in store.viewer_headlines(since, [VIEWER])] == ["Mine"]
    assert store.version() == 41  # the data version caches follow is kept
    state = store.feed_states([FEED])[FEED]
    published = NOW - timedelta(hours=1)
    assert (state.etag, state.last_modified, state.body_hash, state.feed_title) == (
        '"v7"', "Tue, 17 Sep 2024 10:00:00 GMT", "h7", "The Feed",
    )  # fmt: skip
    assert (state.last_success, state.failing_since, state.retry_at) == (
        published, published + timedelta(seconds=30), published + timedelta(hours=1),
    )  # fmt: skip
    assert (state.failures, state.http_status, state.last_error, state.items) == (
        3, 503, "HTTP 503", 12,
    )  # fmt: skip
    assert store.feed_states([VIEWER], viewer_feeds=[VIEWER])[VIEWER].etag == "e"
    # It goes on working: a failure counts on from the stored three.
    store.record_feeds([FeedFailure(FEED, "x", 500, 1.0)], NOW)
    assert store.feed_states([FEED])[FEED].failures == 4
    # Opened again (a restart, another process): current, nothing to do.
    assert Store(path).count() == 201


# SQLite only: the layouts from before versions (see above).
def test_every_earlier_layout_reaches_the_latest(tmp_path: Path) -> None:
    """An empty file and each recognised layout end at the same tables and columns."""

    def layout(path: Path) -> dict[str, list[str]]:
        with sqlite3.connect(path) as db:
            tables = [row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name"
            )]  # fmt: skip
            return {t: sorted(c[1] for c in db.execute(f"PRAGMA table_info({t})")) for t in tables}

    Store(tmp_path / "new.db")
    scoped_store(tmp_path / "scoped.db", 1)
    Store(tmp_path / "scoped.db")
    assert layout(tmp_path / "new.db") == layout(tmp_path / "scoped.db")


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_store_from_a_newer_release_is_refused_and_left_alone(store_address: Address) -> None:
    path = store_address
    Store(path).save([], NOW)
    execute(path, "UPDATE meta SET value = ? WHERE key = ?", (str(LATEST + 3), SCHEMA_KEY))
    execute(path, "CREATE TABLE from_the_future (x INTEGER)")
    before = file_digest(path) if isinstance(path, Path) else None
    with pytest.raises(StoreError) as caught:
        Store(path)
    message = str(caught.value)
    assert "\n" not in message
    assert f"schema version {LATEST + 3}" in message
    assert f"knows versions up to {LATEST}" in message
    assert message.startswith(f"The headline store {path} was written by a newer release")
    if isinstance(path, Path):  # a file: not one byte changed
        assert file_digest(path) == before
    assert query(path, "SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)) == [
        (str(LATEST + 3),)
    ]
    assert query(path, "SELECT COUNT(*) FROM from_the_future") == [(0,)]


def store_at_version(address: Address, version: int) -> None:
    """An empty store at schema `version`, made by the migrations as this backend takes them."""
    database = open_database(address)
    database.prepare()
    with database.connect() as db:
        db.begin_write()
        for step in steps(database)[:version]:
            for statement in step:
                db.execute(statement)
        db.execute("INSERT INTO meta VALUES (?, ?)", (SCHEMA_KEY, str(version)))
        db.commit()


def store_at_version_5(path: Address, headlines: list[Headline]) -> None:
    """A store as the release before stories left it (schema 5), holding `headlines` in the
    topics' scope and one of a viewer's feed."""
    store_at_version(path, 5)
    rows = [("", h.guid, None, h.source, h.title, h.publication, int(h.published.timestamp()),
             "published", 0, n + 1) for n, h in enumerate(headlines)]  # fmt: skip
    rows.append((VIEWER, "v1", None, VIEWER, headlines[0].title, "Me", rows[0][6], "seen", 0, 1))
    database = open_database(path)
    with database.connect() as db:
        db.executemany(
            "INSERT INTO headline (scope, guid, canon_link, source, title, publication, "
            "published, time_kind, first_seen, stored_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.execute("INSERT INTO meta VALUES ('version', ?)", (str(len(headlines)),))


def test_a_store_upgraded_to_stories_assigns_its_headlines_in_one_batch(
    store_address: Address,
) -> None:
    from lib.stories import StoryAssigner
    from support.corpus import headlines

    week = headlines(600, NOW, FEED, seed=5)
    path = store_address
    store_at_version_5(path, week)
    store = Store(path)
    read = store.headlines_after(None, NOW - timedelta(days=8))
    stored = dict(zip((h.guid for h in read.headlines), read.stories, strict=True))
    expected = dict(zip((h.guid for h in week), StoryAssigner().assign(week), strict=True))
    assert stored == expected
    assert len(set(expected.values())) < len(expected)  # copies were grouped
    assert query(path, "SELECT story FROM headline WHERE scope = ?", (VIEWER,)) == [(None,)]
    [(stories,)] = query(path, "SELECT COUNT(*) FROM story")
    [(next_story,)] = query(path, "SELECT value FROM meta WHERE key = 'next_story'")
    assert stories == len(set(expected.values())) and int(next_story) == stories + 1
    assert store.version() == len(week)  # readers' versions stay: nothing is read again
    # New headlines go on from the assigned ones: a copy joins its story.
    copy = replace(week[0], guid="copy", link=None)
    assert store.save([copy], NOW) == 1
    assert stored_story(store, "copy") == expected[week[0].guid]


def test_feed_states_of_version_2_are_kept_by_the_scope_step(store_address: Address) -> None:
    """Step 3 changes the feed table's key (SQLite rebuilds the table, PostgreSQL alters
    it): the states stored before belong to the topics' scope after."""
    store_at_version(store_address, 2)
    execute(
        store_address,
        "INSERT INTO feed (url, etag, body_hash, last_success, last_status, failures) "
        "VALUES (?, '\"v7\"', 'h7', ?, 'ok', 2)",
        (FEED, int(NOW.timestamp())),
    )
    store = Store(store_address)
    state = store.feed_states([FEED])[FEED]
    assert (state.etag, state.body_hash, state.last_success, state.failures) == (
        '"v7"', "h7", NOW, 2,
    )  # fmt: skip
    # The new key lets a viewer's fetch of the same URL have a state of its own.
    store.record_feeds([FeedFailure(FEED, "x", 500, 1.0)], NOW, viewer_feeds=[FEED])
    assert store.feed_states([FEED])[FEED].failures == 2
    assert store.feed_states([FEED], viewer_feeds=[FEED])[FEED].failures == 1


OPEN_AT_ONCE = """
import sys
from lib.store import Store
print(Store(sys.argv[1]).version())
"""


def test_processes_opening_a_new_store_at_once_migrate_it_once(store_address: Address) -> None:
    """Four processes open one new store together: each waits for the first one's
    migrations (the write lock), none fails or applies a step twice."""
    root = Path(__file__).resolve().parent.parent
    opening = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(store_address)],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(4)
    ]  # fmt: skip
    outcomes = [process.communicate(timeout=60) for process in opening]
    assert [process.returncode for process in opening] == [0] * 4, outcomes
    assert query(store_address, "SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)) == [
        (str(LATEST),)
    ]


def stored_story(store: Store, guid: str) -> int:
    read = store.headlines_after(None, NOW - timedelta(days=8))
    return dict(zip((h.guid for h in read.headlines), read.stories, strict=True))[guid]
