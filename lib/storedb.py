"""The two databases a store can live in, and everything about them that differs.

`lib/store.py` and `lib/migrations.py` hold the logic and write their SQL once, in the
form both take (`?` placeholders, `ON CONFLICT … DO NOTHING`, upserts whose table has an
alias, SQLite's column types). What differs is here and only here:

- connections: SQLite opens one per operation (cheap; WAL, synchronous=NORMAL) and keeps
  one for `Store.version`; PostgreSQL takes them from a pool per address per process.
- placeholders: `?`; rewritten to `%s` for psycopg (a `%` doubled).
- a write transaction: SQLite's `BEGIN IMMEDIATE`; on PostgreSQL `BEGIN` and
  `pg_advisory_xact_lock`. Either way one writer at a time, so store versions and story
  ids are handed out in commit order.
- a read transaction (one snapshot): `BEGIN`; `BEGIN ISOLATION LEVEL REPEATABLE READ`.
- ids and times: SQLite's `INTEGER PRIMARY KEY` (the rowid) and `INTEGER`; PostgreSQL's
  `BIGINT` identity and `BIGINT` (a time past 2038 does not fit 32 bits), `ddl`.
- claims of due feeds: SQLite's write lock; PostgreSQL's `FOR UPDATE SKIP LOCKED`
  (`lock_due`), so loops claim different feeds at once.
- the layout of a store: `sqlite_master` and `PRAGMA table_info`; `information_schema`.
- faults: SQLite's result codes for the file; PostgreSQL's SQLSTATE for a server that
  refuses the login or lacks the database, libpq's line for one that cannot be reached.

Every fault of the database itself (not of the program) is a `StoreError` naming the store
(a URL without its password) and the next step, in one line.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lib.errors import StoreError

# A store address: a file path, or a PostgreSQL URL.
Address = Path | str

_SCHEMES = ("postgresql://", "postgres://")
# Any number fixed for this program: the advisory lock every writer of a PostgreSQL store
# takes for the length of its transaction (SQLite's BEGIN IMMEDIATE).
_WRITER_LOCK = 0x6E657773  # "news"
# Connections one process keeps to one PostgreSQL store, and how long a caller waits for
# one when all are busy (SQLite waits as long for its write lock).
POOL_SIZE = 10
POOL_WAIT = 30.0
CONNECT_TIMEOUT = 5  # seconds to reach the server (an unreachable host fails after this)


def is_postgres(address: Address) -> bool:
    """Whether `address` names a PostgreSQL store rather than a SQLite file."""
    return isinstance(address, str) and address.lower().startswith(_SCHEMES)


def shown(address: Address) -> str:
    """The address as it may be shown or logged: a URL without its password."""
    if not is_postgres(address):
        return str(address)
    parts = urlsplit(str(address))
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2:
        user = netloc[0].split(":", 1)[0]
        netloc = [f"{user}@{netloc[1]}" if user else netloc[1]]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"]
    return urlunsplit((parts.scheme, netloc[0], parts.path, urlencode(query), parts.fragment))


class Connection(Protocol):
    """What the store asks of a connection, on either database."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int: ...
    def begin_write(self) -> None: ...
    def begin_read(self) -> None: ...
    def begin_rows(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class Database(Protocol):
    """One store's database: opens connections, and says how it differs."""

    kind: str  # "sqlite" or "postgresql"
    address: str  # as shown: no password
    skip_locked: bool  # claims lock rows (FOR UPDATE SKIP LOCKED) instead of the store

    def prepare(self) -> None: ...
    def connect(self) -> Any: ...  # a context manager giving a `Connection`
    def kept_read(self, sql: str) -> list[Any]: ...
    def tables(self, db: Connection) -> set[str]: ...
    def columns(self, db: Connection, table: str) -> set[str]: ...
    def ddl(self, statement: str) -> str: ...
    def ids_copied(self, db: Connection, table: str) -> None: ...
    def lock_due(
        self,
        db: Connection,
        due: Sequence[tuple[int, int, str, bool]],
        seconds: int,
        period: float,
        limit: int,
    ) -> list[tuple[int, str]]: ...


def open_database(address: Address) -> Database:
    """The database of a store address: a PostgreSQL URL, or else a SQLite file path."""
    return Postgres(str(address)) if is_postgres(address) else Sqlite(Path(address))


# --- SQLite -----------------------------------------------------------------------------------

# SQLite's primary result codes that say the file is unusable, not that the program is wrong.
_FILE_FAULTS = frozenset(
    {sqlite3.SQLITE_PERM, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY,
     sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
     sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB}
)  # fmt: skip


def _file_fault(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _FILE_FAULTS


def _read_only(path: Path) -> bool:
    """Whether the store file, or the folder that must hold its journal, cannot be written."""
    folder = path.parent
    return (path.exists() and not os.access(path, os.W_OK)) or (
        folder.is_dir() and not os.access(folder, os.W_OK)
    )


# Seconds a new connection keeps asking for WAL mode while another process holds the lock.
_WAL_PATIENCE = 30.0


def _wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode (a no-op once it is). On a file just made, another process
    may be switching it or migrating it: the switch then fails with SQLITE_BUSY at once,
    without SQLite's busy timeout (it would be a deadlock otherwise), so it is asked again."""
    waited = 0.0
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or waited >= _WAL_PATIENCE:
                raise
        time.sleep(0.05)
        waited += 0.05


class SqliteConnection:
    """A sqlite3 connection in autocommit mode, transactions begun by the store."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.raw = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        before = self.raw.total_changes
        self.raw.executemany(sql, rows)
        return self.raw.total_changes - before

    def begin_write(self) -> None:
        self.raw.execute("BEGIN IMMEDIATE")  # the one writer, until COMMIT

    def begin_read(self) -> None:
        self.raw.execute("BEGIN")

    def begin_rows(self) -> None:
        self.begin_write()  # SQLite locks the whole file, never rows

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        self.raw.execute("ROLLBACK")


class Sqlite:
    """A store in one SQLite file (WAL)."""

    kind = "sqlite"
    skip_locked = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.address = str(path)
        self._reader_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None

    def prepare(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.fault(exc) from exc

    @contextmanager
    def connect(self) -> Iterator[SqliteConnection]:
        # A connection per operation: cheap for SQLite, and no connection is shared by threads.
        db = None
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            _wal(db)
            # NORMAL in WAL mode survives an app crash (only an OS crash may lose the last commit).
            db.execute("PRAGMA synchronous=NORMAL")
            yield SqliteConnection(db)
        except sqlite3.Error as exc:
            if db is None or _file_fault(exc):
                raise self.fault(exc) from exc
            raise  # a program error (a value SQLite cannot store), not the file's
        finally:
            if db is not None:
                db.close()

    def kept_read(self, sql: str) -> list[Any]:
        """The rows of a read through one connection kept open (shared by threads under a
        lock), for a read asked on every page run; in autocommit mode each query reads the
        latest commit."""
        with self._reader_lock:
            try:
                if self._reader is None:
                    self._reader = sqlite3.connect(
                        self.path, timeout=30, isolation_level=None, check_same_thread=False
                    )
                # fetchall() steps the statement to its end, which ends the read
                # transaction: an open one would keep checkpoints from emptying the WAL.
                return self._reader.execute(sql).fetchall()
            except sqlite3.Error as exc:
                # A file replaced or repaired meanwhile is opened afresh on the next call.
                reader, self._reader = self._reader, None
                if reader is not None:
                    reader.close()
                raise self.fault(exc) from exc

    def tables(self, db: Connection) -> set[str]:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master")}

    def columns(self, db: Connection, table: str) -> set[str]:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}

    def ddl(self, statement: str) -> str:
        return statement  # the migrations are written in SQLite's types

    def ids_copied(self, db: Connection, table: str) -> None:
        """Nothing to do: SQLite's next row id is always past the largest one."""

    def lock_due(
        self,
        db: Connection,
        due: Sequence[tuple[int, int, str, bool]],
        seconds: int,
        period: float,
        limit: int,
    ) -> list[tuple[int, str]]:
        # SQLite has no row locks: `Store.claim_feeds` claims under its one write lock.
        raise NotImplementedError("SQLite claims under the write lock (skip_locked is False)")

    def fault(self, exc: sqlite3.Error | OSError) -> StoreError:
        """The failure of the file in words, with the next step (not a traceback)."""
        code = getattr(exc, "sqlite_errorcode", None)
        code = None if code is None else code & 0xFF  # the primary code of an extended one
        path = self.path
        if path.is_dir():
            problem, step = "is a folder, not a file", "point NEWS_DB at a file"
        elif path.parent.exists() and not path.parent.is_dir():
            problem = f"cannot be made: {path.parent} is a file, not a folder"
            step = "point NEWS_DB at a file in a folder"
        elif code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            problem = "is damaged or not a headline store"
            step = "move it away (a new one is started) or point NEWS_DB at another file"
        elif code == sqlite3.SQLITE_READONLY or _read_only(path):
            problem = "cannot be written (read-only file or folder)"
            step = "make the file and its folder writable, or point NEWS_DB at another file"
        elif code == sqlite3.SQLITE_BUSY:
            problem = "is locked by another program"
            step = "wait for it to finish and try again"
        else:
            problem = f"cannot be used ({getattr(exc, 'strerror', None) or exc})"
            step = "check the file and its folder, or point NEWS_DB at another file"
        return StoreError(str(path), problem, step)


# --- PostgreSQL -------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _postgres_sql(sql: str) -> str:
    """A statement written for both databases, in psycopg's placeholders."""
    return sql.replace("%", "%%").replace("?", "%s")


# Types in the migrations (written for SQLite) and what PostgreSQL keeps them as: ids and
# times in seconds as 64-bit integers (a date in 2099 is past 32 bits).
_PG_TYPES = (
    (re.compile(r"\bid INTEGER PRIMARY KEY\b"),
     "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
)  # fmt: skip


class PostgresConnection:
    """A pooled psycopg connection in autocommit mode, transactions begun by the store."""

    def __init__(self, db: Any) -> None:
        self.raw = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(_postgres_sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        with self.raw.cursor() as cursor:
            cursor.executemany(_postgres_sql(sql), rows)
            return max(cursor.rowcount, 0)  # the rows all the statements changed

    def begin_write(self) -> None:
        self.raw.execute("BEGIN")
        # One writer at a time, as on SQLite: held until COMMIT or ROLLBACK (also when the
        # connection goes back to the pool mid-transaction, which rolls it back).
        self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITER_LOCK,))

    def begin_read(self) -> None:
        # One snapshot for every statement until COMMIT, as a SQLite read transaction.
        self.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")

    def begin_rows(self) -> None:
        # Read committed, no writer lock: the rows a statement locks are the only ones held.
        self.raw.execute("BEGIN")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        self.raw.execute("ROLLBACK")


# The due feeds among those a loop saw due, locked for it: rows another loop holds locked
# are skipped, not waited for. Due and ordered as `Store._due` says: feeds asked for first
# (their rank is minus the request's time), then those waiting longest, then by URL.
_LOCK_DUE = """
SELECT rank, url FROM (
    SELECT c.url,
        CASE WHEN c.fetched_at IS NULL OR c.fetched_at < w.asked THEN -w.asked ELSE 0 END
            AS rank,
        COALESCE(c.fetched_at, 0) AS fetched
    FROM feed_claim c JOIN unnest(%s::text[], %s::bigint[]) AS w(url, asked) ON c.url = w.url
    WHERE c.scope = '' AND (c.claimed_until IS NULL OR c.claimed_until <= %s)
        AND (c.fetched_at IS NULL OR c.fetched_at + %s <= %s OR c.fetched_at < w.asked)
    ORDER BY rank, fetched, c.url COLLATE "C"
    LIMIT %s
    FOR UPDATE OF c SKIP LOCKED
) AS due ORDER BY rank, fetched, url COLLATE "C"
"""


_POOLS: dict[tuple[int, str], Any] = {}
_POOLS_LOCK = threading.Lock()


def close_pools() -> None:
    """Close this process's connection pools (tests; a process's pools live as long as it)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


class Postgres:
    """A store in a PostgreSQL database, through this process's pool for its address."""

    kind = "postgresql"
    skip_locked = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.address = shown(url)

    def prepare(self) -> None:
        pass  # the database must exist: creating one is the operator's (see `fault`)

    def _pool(self) -> Any:
        """This process's pool for the address, opened on first use. A process made by
        fork gets pools of its own: a connection must not be shared across processes."""
        key = (os.getpid(), self.url)
        with _POOLS_LOCK:
            pool = _POOLS.get(key)
            if pool is not None:
                return pool
            import psycopg  # only a PostgreSQL store needs it
            from psycopg_pool import ConnectionPool

            # Made by hand first: a login the server refuses says why here, where the pool
            # would only time out.
            try:
                psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT).close()
            except psycopg.Error as exc:
                raise self.fault(exc) from exc
            pool = ConnectionPool(
                self.url,
                min_size=1,
                max_size=POOL_SIZE,
                timeout=POOL_WAIT,
                kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                name=self.address,
                open=False,
            )
            pool.open()
            _POOLS[key] = pool
            return pool

    def _forget_pool(self) -> None:
        """Drop the pool after a fault of the server: the next use probes the server again
        (failing fast while it is down) and makes a new pool once it answers."""
        with _POOLS_LOCK:
            pool = _POOLS.pop((os.getpid(), self.url), None)
        if pool is not None:
            pool.close(timeout=0)

    @contextmanager
    def connect(self) -> Iterator[PostgresConnection]:
        import psycopg

        try:
            pool, db = self._checked_connection()
        except psycopg.OperationalError as exc:  # the server, not the program (PoolTimeout too)
            self._forget_pool()
            raise self.fault(exc) from exc
        try:
            yield PostgresConnection(db)
        except psycopg.OperationalError as exc:
            self._forget_pool()
            raise self.fault(exc) from exc
        finally:
            pool.putconn(db)  # rolls back a transaction left open by an exception

    def _checked_connection(self) -> tuple[Any, Any]:
        """A pooled connection that answers. One that does not (the server restarted, or
        stopped) drops the pool, and a new one is made once (it probes the server first,
        so a stopped server fails at once instead of after the pool's wait)."""
        import psycopg
        from psycopg_pool import ConnectionPool

        for _ in range(2):
            pool = self._pool()
            db = pool.getconn()
            try:
                ConnectionPool.check_connection(db)
                return pool, db
            except psycopg.OperationalError:
                pool.putconn(db)
                self._forget_pool()
        pool = self._pool()
        return pool, pool.getconn()

    def kept_read(self, sql: str) -> list[Any]:
        """The rows of a read (a pooled connection: nothing to keep)."""
        with self.connect() as db:
            return list(db.execute(sql).fetchall())

    def lock_due(
        self,
        db: Connection,
        due: Sequence[tuple[int, int, str, bool]],
        seconds: int,
        period: float,
        limit: int,
    ) -> list[tuple[int, str]]:
        """Lock up to `limit` of the `due` feeds (rank, last fetched, url, has a row) that
        are still due at `seconds` and that no other loop holds locked; (rank, url) each."""
        urls = [url for _, _, url, _ in due]
        asked = [-rank for rank, _, _, _ in due]  # the request each answers (0: none)
        assert isinstance(db, PostgresConnection)
        rows = db.raw.execute(_LOCK_DUE, (urls, asked, seconds, period, seconds, limit))
        return [(int(rank), url) for rank, url in rows.fetchall()]

    def tables(self, db: Connection) -> set[str]:
        rows = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in rows}

    def columns(self, db: Connection, table: str) -> set[str]:
        rows = db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ?",
            (table,),
        )
        return {row[0] for row in rows}

    def ids_copied(self, db: Connection, table: str) -> None:
        """Move `table`'s identity past the ids just written into it as they were (a copy):
        PostgreSQL's identity does not look at the rows, so the next save would collide."""
        db.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} "
            "HAVING max(id) IS NOT NULL AND pg_get_serial_sequence(?, 'id') IS NOT NULL",
            (table,),
        )

    def ddl(self, statement: str) -> str:
        for pattern, replacement in _PG_TYPES:
            statement = pattern.sub(replacement, statement)
        return statement

    def fault(self, exc: Exception) -> StoreError:
        """What went wrong with the server, in words, with the next step.

        Errors during a query carry the server's SQLSTATE. A connection that fails carries
        none (libpq reports no code for it): a server that answered and refused the login
        (wrong password, no such user or database) says so in a FATAL line, whose reason
        is quoted; anything else never reached the server.
        """
        state = getattr(exc, "sqlstate", None)
        text = str(exc).strip()
        line = (text.splitlines()[0] if text else type(exc).__name__).strip()
        line = line.removeprefix("connection failed: ")
        if state in ("57P01", "57P02", "57P03"):  # shutdown, crash, not accepting yet
            problem = "is shutting down or starting up"
            step = "wait for PostgreSQL to be up and try again"
        elif state is not None:
            problem = f"cannot be used ({line})"
            step = "check the server and the database in NEWS_DB"
        elif "FATAL:" in line:
            reason = line.split("FATAL:", 1)[1].strip()
            problem = f"refused the connection: {reason}"
            step = (
                "check the user, the password and the database name in NEWS_DB "
                "(a database is made with createdb NAME)"
            )
        else:
            problem = f"cannot be reached ({line})"
            step = "check that PostgreSQL runs and the host and port in NEWS_DB"
        return StoreError(self.address, problem, step)
