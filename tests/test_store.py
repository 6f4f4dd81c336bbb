"""The SQLite headline store: kept across restarts, stored once, pruned by the window."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lib.errors import StoreError
from lib.model import Headline, TimeKind
from lib.store import Arrivals, FeedFailure, FeedSuccess, Store, canonical_link
from lib.storedb import Address
from tests.storesql import UNSTORABLE, query

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)


def make(guid: str, link: str | None, hours_ago: float = 1, title: str = "T") -> Headline:
    return Headline(
        title=title,
        link=link,
        publication="Pub",
        label=None,
        published=NOW - timedelta(hours=hours_ago),
        source="https://example.com/feed",
        guid=guid,
    )


def test_headlines_survive_a_restart(store_address: Address) -> None:
    path = store_address
    assert Store(path).save([make("a", "https://x.test/a"), make("b", None, 2)], NOW) == 2
    again = Store(path)  # a new process would open the file the same way
    stored = again.headlines(NOW - timedelta(days=7))
    assert [h.guid for h in stored] == ["a", "b"]  # newest first
    assert stored[0] == make("a", "https://x.test/a")
    if isinstance(path, Path):  # a SQLite file is kept in WAL mode
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_guid_or_canonical_link_is_stored_once(store_address: Address) -> None:
    store = Store(store_address)
    assert store.save([make("a", "https://x.test/story?id=1&utm_source=rss")], NOW) == 1
    assert store.save([make("a", "https://x.test/other")], NOW) == 0  # same guid
    # The same article with other tracking parameters, another guid, from another feed:
    dup = make("b", "HTTPS://X.test:443/story?utm_medium=feed&id=1&fbclid=zz#top")
    assert store.save([dup], NOW) == 0
    assert store.save([make("c", "https://x.test/story?id=2")], NOW) == 1
    assert store.count() == 2


def test_the_first_seen_time_is_kept(store_address: Address) -> None:
    store = Store(store_address)
    first = Headline("T", None, "P", None, NOW - timedelta(hours=3), "s", "g", TimeKind.SEEN)
    store.save([first], NOW)
    store.save([Headline("T", None, "P", None, NOW, "s", "g", TimeKind.SEEN)], NOW)
    assert store.headlines(NOW - timedelta(days=1))[0].published == first.published


def test_items_older_than_the_window_are_not_stored_and_are_pruned(store_address: Address) -> None:
    store = Store(store_address)
    assert store.save([make("old", None, 24 * 8)], NOW) == 0
    store.save([make("a", None, 24 * 6)], NOW)
    version = store.version()
    assert store.prune(NOW) == 0
    assert store.prune(NOW + timedelta(days=2)) == 1
    assert store.count() == 0
    assert store.version() > version


def test_version_changes_only_when_headlines_change(store_address: Address) -> None:
    store = Store(store_address)
    assert store.version() == 0
    store.save([make("a", None)], NOW)
    v1 = store.version()
    store.save([make("a", None)], NOW)
    assert store.version() == v1 > 0


def test_version_sees_writes_from_other_connections_and_threads(store_address: Address) -> None:
    """The page's store keeps one reading connection; another process's (here another Store
    object's) commits and another thread's calls must still see the latest version."""
    import threading

    reader, writer = Store(store_address), Store(store_address)
    assert reader.version() == 0
    writer.save([make("a", None)], NOW)
    v1 = reader.version()
    assert v1 > 0
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(reader.version()))
    worker.start()
    worker.join()
    assert seen == [v1]
    writer.save([make("b", None)], NOW)
    assert reader.version() > v1


# SQLite only: the WAL and its checkpoints are SQLite's.
def test_the_kept_reader_does_not_hold_the_wal(tmp_path: Path) -> None:
    """An unfinished read on the kept connection would block checkpoints: the WAL would grow."""
    import sqlite3

    store = Store(tmp_path / "news.db")
    store.save([make(f"t{i}", None, i / 60) for i in range(500)], NOW)
    store.version()
    store.save([make(f"u{i}", None, i / 60) for i in range(500)], NOW)  # after that read
    db = sqlite3.connect(tmp_path / "news.db", timeout=0.5)
    try:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        db.close()
    assert busy == 0
    assert (tmp_path / "news.db-wal").stat().st_size == 0


# --- reading on from a version ------------------------------------------------------------


def test_headlines_after_reads_what_was_stored_since_a_version(store_address: Address) -> None:
    store = Store(store_address)
    since = NOW - timedelta(days=7)
    assert store.headlines_after(None, since) == Arrivals([], [], 0)
    store.save([make("a", None, 1, "A"), make("b", None, 2, "B")], NOW)
    first = store.headlines_after(None, since)
    assert [h.title for h in first.headlines] == ["A", "B"]
    assert first.headlines == store.headlines(since) and first.version == store.version()
    # A late item (older than those read), a viewer's item and one before `since` arrive.
    store.save([make("late", None, 5, "Late")], NOW)
    store.save([viewer_copy("v", None)], NOW, scope=VIEWER_FEED)
    store.save([make("edge", None, 24 * 6.5, "Edge")], NOW)
    after = store.headlines_after(first.version, NOW - timedelta(days=6))
    assert [h.title for h in after.headlines] == ["Late"]
    assert after.version == store.version() == first.version + 3
    assert after.ids[0] > max(first.ids)
    assert store.headlines_after(after.version, since) == Arrivals([], [], after.version)
    # Equal times: the later row first, as `headlines` orders them.
    store.save([make("t1", None, 0.5, "T1"), make("t2", None, 0.5, "T2")], NOW)
    tied = store.headlines_after(after.version, since)
    assert [h.title for h in tied.headlines] == ["T2", "T1"] and tied.ids[0] > tied.ids[1]


def test_headlines_after_leaves_out_the_summaries_of_the_sources_named(
    store_address: Address,
) -> None:
    store = Store(store_address)
    other = "https://other.test/feed"
    store.save(
        [replace(make("a", None, 1, "A"), summary="about A"),
         replace(make("b", None, 2, "B"), summary="about B", source=other)],
        NOW,
    )  # fmt: skip
    since = NOW - timedelta(days=7)
    whole = store.headlines_after(None, since)
    assert [h.summary for h in whole.headlines] == ["about A", "about B"]
    skipped = store.headlines_after(None, since, without_summary=["https://example.com/feed"])
    assert [h.summary for h in skipped.headlines] == ["", "about B"]
    assert [replace(h, summary="") for h in skipped.headlines] == [
        replace(h, summary="") for h in whole.headlines
    ]
    assert (skipped.ids, skipped.stories, skipped.version) == (
        whole.ids, whole.stories, whole.version
    )  # fmt: skip


def test_headlines_after_finds_rows_stored_under_ids_given_again(store_address: Address) -> None:
    """SQLite gives a new row the largest id plus one: after a prune deletes the newest
    rows, or the whole store, ids come again. A reader asking by id would miss them."""
    store = Store(store_address)
    store.save([make("a", None, 1, "A")], NOW)
    store.save([make("near the edge", None, 24 * 7 - 1, "Edge")], NOW)  # the largest id
    read = store.headlines_after(None, NOW - timedelta(days=7))
    edge_id = read.ids[read.headlines.index(next(h for h in read.headlines if h.title == "Edge"))]
    later = NOW + timedelta(hours=2)
    assert store.prune(later) == 1
    store.save([make("new", None, 0, "New")], later)
    after = store.headlines_after(read.version, later - timedelta(days=7))
    assert [h.title for h in after.headlines] == ["New"]
    if store.backend == "sqlite":  # PostgreSQL's identity never gives an id again
        assert after.ids == [edge_id]  # the id the pruned row had
    # Emptied and filled again: ids start again at 1.
    empty = later + timedelta(days=30)
    assert store.prune(empty) == 2 and store.count() == 0
    store.save([replace(make("again", None, 0, "Again"), published=empty)], empty)
    again = store.headlines_after(after.version, empty - timedelta(days=7))
    assert [h.title for h in again.headlines] == ["Again"]
    assert store.backend != "sqlite" or again.ids == [1]


def test_feed_state_keeps_validators_across_failures(store_address: Address) -> None:
    store = Store(store_address)
    url = "https://x.test/feed"
    assert store.feed_states([url])[url].etag is None
    success = FeedSuccess(url, "ok", 200, 12.5, etag='"v1"', body_hash="h1", feed_title="Feed",
                          last_modified="Tue, 17 Sep 2024 10:00:00 GMT", items=3)  # fmt: skip
    store.record_feeds([success], NOW)
    store.record_feeds([FeedFailure(url, "HTTP 503", 503, 40)], NOW + timedelta(minutes=5))
    store.record_feeds([FeedFailure(url, "timed out", None, 40)], NOW + timedelta(minutes=10))
    state = store.feed_states([url])[url]
    assert (state.etag, state.body_hash, state.items) == ('"v1"', "h1", 3)
    assert state.last_success == NOW
    assert state.failing_since == NOW + timedelta(minutes=5)
    assert (state.last_error, state.http_status) == ("timed out", None)
    store.record_feeds([FeedSuccess(url, "not modified", 304, 5)], NOW + timedelta(minutes=15))
    state = store.feed_states([url])[url]
    assert state.failing_since is None and state.last_error is None
    assert state.etag == '"v1"'  # a 304 keeps the validators


# The statement trace is SQLite's (`set_trace_callback`): the tests that count statements
# run on SQLite only; PostgreSQL takes the same calls (one code path in lib/store.py).
@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, str]]]:
    """Every SQL statement run from now on, as (connection number, first word)."""
    seen: list[tuple[int, str]] = []
    opened = 0
    real = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        nonlocal opened
        db = real(*args, **kwargs)
        number, opened = opened, opened + 1
        db.set_trace_callback(lambda sql: seen.append((number, sql.split()[0].upper())))
        return db

    monkeypatch.setattr(sqlite3, "connect", traced)
    yield seen


def test_feed_states_of_a_refresh_are_written_in_one_transaction(
    tmp_path: Path, statements: list[tuple[int, str]]
) -> None:
    store = Store(tmp_path / "news.db")
    statements.clear()
    outcomes = [
        FeedSuccess(f"https://x.test/{i}", "ok", 200, 10.0, etag=f'"{i}"', items=i)
        if i % 2
        else FeedFailure(f"https://x.test/{i}", "HTTP 503", 503, 5.0)
        for i in range(40)
    ]
    store.record_feeds(outcomes, NOW)
    assert len({db for db, _ in statements}) == 1  # one connection
    words = [word for _, word in statements if word != "PRAGMA"]
    assert words == ["BEGIN"] + ["INSERT"] * 40 + ["COMMIT"]
    states = store.feed_states([o.url for o in outcomes])
    assert [s.last_status for s in states.values()] == ["failed", "ok"] * 20
    assert states["https://x.test/3"].etag == '"3"'
    assert states["https://x.test/2"].failures == 1


def test_a_batch_of_feed_states_is_all_or_nothing(store_address: Address) -> None:
    store = Store(store_address)
    good = FeedSuccess("https://x.test/good", "ok", 200, 10.0, etag='"v1"')
    unstorable = FeedFailure("https://x.test/bad", "x", 500, object())  # type: ignore[arg-type]
    with pytest.raises(UNSTORABLE):
        store.record_feeds([good, unstorable], NOW)
    assert store.feed_states([good.url])[good.url].last_attempt is None


def test_a_batch_of_feed_states_is_applied_in_order(store_address: Address) -> None:
    store = Store(store_address)
    url = "https://x.test/feed"
    later = NOW + timedelta(minutes=5)
    store.record_feeds([FeedSuccess(url, "ok", 200, 1.0, body_hash="h1")], NOW)
    store.record_feeds(
        [FeedFailure(url, "timed out", None, 9.0), FeedFailure(url, "HTTP 502", 502, 3.0)],
        later,
    )
    state = store.feed_states([url])[url]
    assert (state.failures, state.last_error, state.http_status) == (2, "HTTP 502", 502)
    assert (state.body_hash, state.last_success, state.failing_since) == ("h1", NOW, later)


def test_headlines_can_be_read_per_source(store_address: Address) -> None:
    store = Store(store_address)
    other = Headline("T2", None, "P", None, NOW, "https://other.test/feed", "g2")
    store.save([make("a", None), other], NOW)
    since = NOW - timedelta(days=1)
    assert [h.guid for h in store.headlines(since, ["https://other.test/feed"])] == ["g2"]
    assert store.headlines(since, []) == []


# SQLite only: the faults of a file (PostgreSQL's: tests/test_store_postgres.py).
def test_an_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        Store(blocker / "news.db")


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        ("https://x.test/a?utm_source=rss&b=2&a=1", "https://x.test/a?a=1&b=2"),
        ("HTTP://X.TEST:80/a#frag", "http://x.test/a"),
        ("https://x.test:8443/a", "https://x.test:8443/a"),
        ("https://x.test", "https://x.test/"),
        (None, None),
    ],
)
def test_canonical_link(link: str | None, canonical: str | None) -> None:
    assert canonical_link(link) == canonical


def test_summaries_are_read_back_by_guid(store_address: Address) -> None:
    store = Store(store_address)
    items = [replace(make(f"g{i}", None, i / 100), summary=f"summary {i}") for i in range(1200)]
    store.save(items, NOW)
    wanted = [f"g{i}" for i in range(0, 1200, 2)] + ["not stored"]  # more than one query
    assert store.summaries(wanted) == {f"g{i}": f"summary {i}" for i in range(0, 1200, 2)}
    assert store.summaries([]) == {}


# --- viewer feeds are stored apart ----------------------------------------------------------

VIEWER_FEED = "https://viewer.test/feed"


def viewer_copy(guid: str, link: str | None, title: str = "Viewer's copy") -> Headline:
    return replace(make(guid, link, title=title), source=VIEWER_FEED)


def test_a_viewer_feed_cannot_keep_a_topic_item_out(store_address: Address) -> None:
    store = Store(store_address)
    # The viewer's feed publishes the topic item's guid, and another item's link, first.
    first = [viewer_copy("g1", None), viewer_copy("x", "https://x.test/b?utm_source=v")]
    assert store.save(first, NOW, scope=VIEWER_FEED) == 2
    topic = [make("g1", "https://x.test/a", title="Topic A"), make("g2", "https://x.test/b")]
    assert store.save(topic, NOW) == 2
    since = NOW - timedelta(days=1)
    # Every page without that viewer feed sees the topic's copies only.
    assert sorted(h.guid for h in store.headlines(since)) == ["g1", "g2"]
    assert {h.source for h in store.headlines(since)} == {"https://example.com/feed"}
    assert store.summaries(["g1", "x"]) == {"g1": ""}


def test_a_viewer_reads_their_feeds_without_the_topics_copies(store_address: Address) -> None:
    store = Store(store_address)
    other_viewer = "https://other-viewer.test/feed"
    store.save([make("g1", "https://x.test/a", title="Topic A", hours_ago=3)], NOW)
    mine = [
        viewer_copy("g1", None, "same guid"),  # the topic has it
        viewer_copy("v1", "https://x.test/a#top", "same link"),  # the topic has it
        viewer_copy("v2", "https://v.test/2", "only mine"),
    ]
    store.save(mine, NOW, scope=VIEWER_FEED)
    theirs = [replace(viewer_copy("v2", None, "theirs"), source=other_viewer)]
    store.save(theirs, NOW, scope=other_viewer)
    since = NOW - timedelta(days=1)
    titles = [h.title for h in store.viewer_headlines(since, [VIEWER_FEED])]
    assert titles == ["only mine"]
    # Two own feeds with the same item: it is listed once.
    both = store.viewer_headlines(since, [VIEWER_FEED, other_viewer])
    assert [h.guid for h in both] == ["v2"]
    assert [h.title for h in store.headlines(since)] == ["Topic A"]
    assert store.viewer_headlines(since, []) == []


def test_a_viewers_fetches_of_a_topic_feed_do_not_touch_its_state(
    store_address: Address,
) -> None:
    store = Store(store_address)
    url = "https://x.test/feed"
    store.record_feeds([FeedSuccess(url, "ok", 200, 1.0, etag='"topic"', body_hash="h")], NOW)
    # The same URL, added by a viewer: its validators and failures are its own.
    failures = [FeedFailure(url, "refused", None, 1.0, retry_at=NOW + timedelta(hours=2))] * 3
    store.record_feeds(failures, NOW, viewer_feeds=[url])
    topic = store.feed_states([url])[url]
    assert (topic.etag, topic.body_hash, topic.failures, topic.retry_at) == (
        '"topic"',
        "h",
        0,
        None,
    )
    viewer = store.feed_states([url], viewer_feeds=[url])[url]
    assert (viewer.etag, viewer.failures, viewer.last_error) == (None, 3, "refused")


# The layout of a store made before viewer feeds were stored apart (and, for the feed
# table, before failures and retry_at were added): global unique guid and link.
OLD_LAYOUT = """
CREATE TABLE headline (
    id INTEGER PRIMARY KEY, guid TEXT NOT NULL, canon_link TEXT, source TEXT NOT NULL,
    title TEXT NOT NULL, link TEXT, publication TEXT NOT NULL, label TEXT,
    published INTEGER NOT NULL, time_kind TEXT NOT NULL, first_seen INTEGER NOT NULL,
    summary TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX headline_guid ON headline(guid);
CREATE UNIQUE INDEX headline_canon_link ON headline(canon_link) WHERE canon_link IS NOT NULL;
CREATE INDEX headline_published ON headline(published);
CREATE TABLE feed (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, body_hash TEXT, feed_title TEXT,
    last_attempt INTEGER, last_success INTEGER, failing_since INTEGER, last_status TEXT,
    http_status INTEGER, last_error TEXT, items INTEGER, elapsed_ms REAL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def old_store(path: Path, count: int) -> None:
    """A store file in the old layout with `count` headlines and one feed state."""
    db = sqlite3.connect(path)
    db.executescript(OLD_LAYOUT)
    published = int((NOW - timedelta(hours=1)).timestamp())
    db.executemany(
        "INSERT INTO headline (guid, canon_link, source, title, link, publication, label, "
        "published, time_kind, first_seen, summary) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, "
        "'published', ?, ?)",
        [
            (f"g{i}", f"https://x.test/{i}", "https://example.com/feed", f"Old {i}",
             f"https://x.test/{i}", "Pub", published - i, published, f"s{i}")
            for i in range(count)
        ],
    )  # fmt: skip
    db.execute(
        "INSERT INTO feed (url, etag, body_hash, last_success, last_status) "
        "VALUES ('https://example.com/feed', '\"v7\"', 'h7', ?, 'ok')",
        (published,),
    )
    db.execute("INSERT INTO meta VALUES ('version', '41')")
    db.commit()
    db.close()


def test_an_old_store_upgrades_in_place_and_keeps_everything(tmp_path: Path) -> None:
    # SQLite only: stores from before schema versions are SQLite files (PostgreSQL's
    # upgrade from a numbered version is in tests/test_migrations.py).
    path = tmp_path / "news.db"
    old_store(path, 300)
    store = Store(path)
    since = NOW - timedelta(days=7)
    kept = store.headlines(since)
    assert len(kept) == 300 and kept[0].title == "Old 0" and kept[0].summary == "s0"
    assert store.version() == 41
    state = store.feed_states(["https://example.com/feed"])["https://example.com/feed"]
    assert (state.etag, state.body_hash, state.failures, state.last_success) == (
        '"v7"', "h7", 0, NOW - timedelta(hours=1),
    )  # fmt: skip
    # The upgraded store keeps viewer feeds apart, and still stores a topic item once.
    assert store.save([viewer_copy("g0", "https://x.test/0")], NOW, scope=VIEWER_FEED) == 1
    assert store.save([make("g0", None), make("new", "https://x.test/1?utm_source=a")], NOW) == 0
    assert store.count() == 301 and len(store.headlines(since)) == 300
    # Its headlines are read whole first; what it stores next is read on from its version.
    assert len(store.headlines_after(None, since).headlines) == 300
    assert store.headlines_after(41, since).headlines == []
    store.save([make("next", None)], NOW)
    assert [h.guid for h in store.headlines_after(41, since).headlines] == ["next"]
    store.record_feeds([FeedFailure("https://example.com/feed", "x", 500, 1.0)], NOW)
    assert store.feed_states(["https://example.com/feed"])["https://example.com/feed"].failures == 1
    # Opening it again (another process, a restart) finds it current and changes nothing.
    assert Store(path).count() == 302


def test_an_upgrade_is_one_transaction(tmp_path: Path, statements: list[tuple[int, str]]) -> None:
    path = tmp_path / "news.db"
    old_store(path, 3)
    statements.clear()
    Store(path)
    words = [word for _, word in statements if word not in ("PRAGMA", "SELECT")]
    assert words[0] == "BEGIN" and words[-1] == "COMMIT" and words.count("BEGIN") == 1
    statements.clear()
    Store(path)  # current: read, never a write lock
    assert "BEGIN" not in [word for _, word in statements]


# --- stories assigned as headlines are stored ----------------------------------------------


def stored_stories(store: Store) -> dict[str, int]:
    """Each stored topics-file headline's story id, by guid."""
    read = store.headlines_after(None, NOW - timedelta(days=8))
    return {h.guid: story for h, story in zip(read.headlines, read.stories, strict=True)}


def first_reports(path: Path) -> dict[int, str]:
    """Each stored story's first report, as a guid."""
    rows = query(
        path,
        "SELECT story.id, headline.guid FROM story JOIN headline "
        "ON headline.id = story.first_report",
    )
    return dict(rows)


def test_stories_stored_at_write_time_are_the_assigners(store_address: Address) -> None:
    from lib.store import STORIES_HELD
    from lib.stories import StoryAssigner
    from support.corpus import headlines

    week = headlines(900, NOW, "https://example.com/feed", seed=3)
    batches = [week[start : start + 60] for start in range(0, len(week), 60)]
    # Repeats, as feeds bring them: an item of the batch before, and one twice in a batch.
    batches = [[*batch, *batches[n - 1][:2], batch[0]] if n else batch
               for n, batch in enumerate(batches)]  # fmt: skip
    path = store_address
    store = Store(path)
    expected = StoryAssigner()
    stories: dict[str, int] = {}
    for batch in batches:
        fresh = list({h.guid: h for h in batch if h.guid not in stories}.values())
        assert store.save(batch, NOW) == len(fresh)
        expected.forget(NOW - STORIES_HELD)  # the writer holds only what its rule needs
        stories.update(zip((h.guid for h in fresh), expected.assign(fresh), strict=True))
    assert stored_stories(store) == stories
    assert len(set(stories.values())) < len(stories)  # some copies did join stories
    reports = first_reports(path)
    assert set(reports) == set(stories.values())
    checked = 0
    for story, guid in reports.items():
        try:
            first = expected.first_report(story)
        except KeyError:
            continue  # a story the writer no longer holds (quiet for 48 hours)
        assert guid == first.guid
        checked += 1
    assert checked > 100
    # A writer opened later (another process) goes on from the stored stories.
    later = [replace(h, guid=f"again-{h.guid}", link=None) for h in week[:40]]
    assert Store(path).save(later, NOW) == 40
    again = expected.assign(later)
    assert [stored_stories(store)[h.guid] for h in later] == again


def news(guid: str, title: str, minutes: int, pub: str = "Pub") -> Headline:
    return Headline(title, None, pub, None, NOW - timedelta(minutes=minutes), "s", guid)


def test_the_row_taken_from_a_batch_is_the_one_assigned(store_address: Address) -> None:
    """Of two batch items with one guid, the first repeats a stored article (its link) and
    is left out; the second is stored, and it is the one put into a story."""
    store = Store(store_address)
    grain = "Kazakhstan grain exports to China rise again"
    stored = replace(news("old", grain, 90), link="https://x.test/1")
    store.save([stored], NOW)
    batch = [
        replace(news("g", grain, 60), link="https://x.test/1"),
        replace(
            news("g", "Putin and Xi open a new bridge over the Amur", 50), link="https://x.test/2"
        ),
    ]
    assert store.save(batch, NOW) == 1
    [kept] = [h for h in store.headlines(NOW - timedelta(days=1)) if h.guid == "g"]
    assert kept.link == "https://x.test/2"
    stories = stored_stories(store)
    assert stories["g"] != stories["old"]  # the bridge is not the grain story
    assert first_reports(store_address)[stories["g"]] == "g"


def test_two_writers_never_give_one_story_id_twice(store_address: Address) -> None:
    path = store_address
    one, two = Store(path), Store(path)
    one.save([news("a1", "Xi and Putin sign new energy deal in Moscow", 90, "Reuters")], NOW)
    two.save([news("b1", "China and Russia hold joint naval drills", 80, "AP")], NOW)
    one.save([news("c1", "Pipeline talks resume in Beijing after delay", 70, "BBC")], NOW)
    # A later copy stored by the first writer joins the story the second one made, and
    # the reverse; each writer learns the other's rows before it assigns.
    one.save([news("b2", "China and Russia hold joint naval drills at sea", 60, "BBC")], NOW)
    two.save([news("a2", "Putin and Xi sign new energy deal in Moscow", 50, "AP")], NOW)
    two.save([news("c2", "Pipeline talks resume in Beijing after long delay", 40, "AP")], NOW)
    one.save([news("d1", "Kazakhstan wheat harvest sets a record", 30, "Reuters")], NOW)
    stories = stored_stories(one)
    assert stories["a1"] == stories["a2"]
    assert stories["b1"] == stories["b2"]
    assert stories["c1"] == stories["c2"]
    firsts = [stories[g] for g in ("a1", "b1", "c1", "d1")]
    assert len(set(firsts)) == 4  # four stories, four ids
    assert set(first_reports(path).values()) == {"a1", "b1", "c1", "d1"}


def test_writers_in_threads_give_distinct_ids(store_address: Address) -> None:
    """Writers in several threads (two Store objects, as two processes would be) store
    different stories at once: every story gets an id of its own."""
    import threading

    path = store_address
    stores = [Store(path), Store(path)]
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for k in range(30):
                title = f"Story {n} {k} zeta{n}x{k} omega{n}y{k} sigma{n}z{k}"
                stores[n % 2].save([news(f"{n}-{k}", title, 60 + k)], NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stories = stored_stories(stores[0])
    assert len(stories) == 120 and len(set(stories.values())) == 120


def test_a_failed_save_leaves_the_writer_to_start_again(store_address: Address) -> None:
    path = store_address
    store = Store(path)
    store.save([news("a1", "Xi and Putin sign new energy deal in Moscow", 90)], NOW)
    bad = news("bad", "Putin and Xi sign new energy deal in Moscow", 80)
    with pytest.raises(UNSTORABLE):  # a value the database cannot store: nothing is written
        store.save([news("a2", "Xi Putin sign new energy deal in Moscow today", 85),
                    replace(bad, title=object())], NOW)  # type: ignore[arg-type]  # fmt: skip
    assert store.save([bad], NOW) == 1
    stories = stored_stories(store)
    assert set(stories) == {"a1", "bad"} and stories["bad"] == stories["a1"]
    assert set(first_reports(path).values()) == {"a1"}


def test_pruning_drops_stories_without_headlines(store_address: Address) -> None:
    path = store_address
    store = Store(path)
    old = Headline("Old story about grain", None, "P", None, NOW - timedelta(days=6), "s", "o")
    store.save([old, news("n", "New story about oil", 5)], NOW)
    assert len(first_reports(path)) == 2
    assert store.prune(NOW + timedelta(days=2)) == 1
    assert list(first_reports(path).values()) == ["n"]
    # Ids are not given again after a prune.
    before = max(stored_stories(store).values())
    store.save([news("m", "Another story about gas", 1)], NOW + timedelta(days=2))
    assert stored_stories(store)["m"] > before


def test_viewer_headlines_get_no_story(store_address: Address) -> None:
    path = store_address
    store = Store(path)
    store.save([news("v", "Mine", 5)], NOW, scope="https://own.test/feed")
    assert query(path, "SELECT story FROM headline") == [(None,)]
    assert query(path, "SELECT COUNT(*) FROM story") == [(0,)]
