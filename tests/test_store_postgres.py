"""What only a PostgreSQL store has: the server's faults in one line without the password,
a store that works again when the server comes back, and claims that skip locked rows.
Everything else a store does is tested on both backends (the `store_address` fixture)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from lib.config import load_settings
from lib.errors import StoreError
from lib.store import Store
from lib.storedb import shown
from support.pgserver import PASSWORD, PASSWORD_ROLE, PgServer
from support.servers import free_port
from tests.test_store import NOW, make

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
LEASE = timedelta(minutes=1)


def test_a_postgresql_url_selects_postgresql_and_a_path_sqlite(tmp_path: Path) -> None:
    url = "postgresql://news:secret@db.example:5433/news"
    assert load_settings({"NEWS_DB": url}).db_path == url  # not a Path: "//" would fold
    assert load_settings({"NEWS_DB": "postgres://h/db"}).db_path == "postgres://h/db"
    assert load_settings({"NEWS_DB": str(tmp_path / "n.db")}).db_path == tmp_path / "n.db"
    assert shown(url) == "postgresql://news@db.example:5433/news"
    assert shown("postgresql://h/news?password=secret&sslmode=require") == (
        "postgresql://h/news?sslmode=require"
    )
    assert shown(tmp_path / "n.db") == str(tmp_path / "n.db")


def _fault(url: str) -> StoreError:
    with pytest.raises(StoreError) as caught:
        Store(url)
    return caught.value


def test_the_right_password_opens_the_store(pg_server: PgServer) -> None:
    url = pg_server.fresh_url()
    try:
        good = url.replace("postgres@", f"{PASSWORD_ROLE}:{PASSWORD}@")
        assert Store(good).save([make("a", None)], NOW) == 1
    finally:
        pg_server.drop(url)


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        (
            "wrong password",
            f'refused the connection: password authentication failed for user "{PASSWORD_ROLE}"',
        ),
        ("unknown user", 'refused the connection: role "nobody" does not exist'),
        ("missing database", 'refused the connection: database "no_such_news" does not exist'),
        ("wrong port", 'cannot be reached (connection to server at "127.0.0.1", port'),
        ("unknown host", "cannot be reached (failed to resolve host 'nohost.invalid'"),
    ],
)
def test_a_server_fault_is_one_line_naming_the_url_without_the_password(
    pg_server: PgServer, case: str, problem: str
) -> None:
    secret = "s3cret-word"
    url = {
        "wrong password": pg_server.url(user=PASSWORD_ROLE, password=secret),
        "unknown user": pg_server.url(user="nobody", password=secret),
        "missing database": pg_server.url("no_such_news", password=secret),
        "wrong port": f"postgresql://postgres:{secret}@127.0.0.1:{free_port()}/news",
        "unknown host": f"postgresql://postgres:{secret}@nohost.invalid:5432/news",
    }[case]
    fault = _fault(url)
    message = str(fault)
    assert "\n" not in message and secret not in message
    assert fault.path == shown(url) and secret not in fault.path
    assert message.startswith(f"The headline store {shown(url)} {problem}"), message
    assert fault.step in message


def test_a_store_works_again_when_the_server_comes_back(pg_server: PgServer) -> None:
    url = pg_server.fresh_url()
    try:
        store = Store(url)
        assert store.save([make("a", None), make("b", None, 2)], NOW) == 2
        version = store.version()
        # Stopped and started between two calls: the pooled connections are dead, and
        # replaced before use.
        pg_server.stop()
        pg_server.start()
        assert store.count() == 2
        # Stopped while the store is used: one line, fast (no pool wait), no traceback.
        pg_server.stop()
        try:
            for call in (store.version, store.count, lambda: store.save([make("c", None)], NOW)):
                with pytest.raises(StoreError) as caught:
                    call()
                assert "cannot be reached" in str(caught.value), caught.value
        finally:
            pg_server.start()
        # Back: the same object goes on, nothing stored before is lost.
        assert store.version() == version and store.count() == 2
        assert store.save([make("c", None)], NOW) == 1
        assert {h.guid for h in store.headlines(NOW - timedelta(days=1))} == {"a", "b", "c"}
    finally:
        pg_server.drop(url)


def test_loops_claim_different_feeds_without_waiting_for_each_other(pg_server: PgServer) -> None:
    """A loop holding row locks mid-claim does not make another loop wait: SKIP LOCKED
    gives the other one the rest of the due feeds at once."""
    url = pg_server.fresh_url()
    feeds = [f"https://f{n}.test/rss" for n in range(10)]
    topics = {"t": feeds}
    try:
        store = Store(url)
        store.release_feeds("a", store.claim_feeds("a", topics, T0, EVERY, LEASE, 100))
        with psycopg.connect(url) as holder:  # another loop, mid-transaction
            locked = holder.execute(
                "SELECT url FROM feed_claim WHERE url = ANY(%s) FOR UPDATE", (feeds[:4],)
            ).fetchall()
            assert len(locked) == 4
            got: list[str] = []
            other = threading.Thread(
                target=lambda: got.extend(store.claim_feeds("b", topics, T0 + EVERY, EVERY,
                                                            LEASE, 100))
            )  # fmt: skip
            other.start()
            other.join(timeout=20)
            assert not other.is_alive()  # it did not wait for the locks
            assert sorted(got) == sorted(feeds[4:])
        # The locks gone, the rest are due for the next loop.
        rest = store.claim_feeds("c", topics, T0 + EVERY, EVERY, LEASE, 100)
        assert sorted(rest) == sorted(feeds[:4])
    finally:
        pg_server.drop(url)
