"""The store survives the app being killed mid-write: nothing committed before is lost."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.store import Store
from lib.storedb import Address, is_postgres
from tests.test_store import make

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)

WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from lib.model import Headline
from lib.store import Store
now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
store = Store(sys.argv[1])
print("ready", flush=True)
batch = 0
while True:  # batches of 500 until killed
    store.save([Headline(f"t{batch}-{i}", f"https://w.test/{batch}/{i}", "P", None,
                         now - timedelta(minutes=i % 600), "s", f"{batch}-{i}")
                for i in range(500)], now)
    batch += 1
"""


def kill_mid_write(script: str, path: Path, written: Callable[[], bool]) -> None:
    """Run `script` writing to the store at `path` in a process of its own, kill -9 it once
    `written()` says it has committed a good part (so the kill lands mid-stream), and check
    a SQLite file is still a sound database (PostgreSQL rolls back a killed client's
    transaction itself)."""
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout and writer.stdout.readline().strip() == "ready"
        for _ in range(200):
            if written():
                break
            time.sleep(0.05)
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    if not is_postgres(path):
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_kill_mid_write_loses_nothing_committed(store_address: Address) -> None:
    path = store_address
    store = Store(path)
    store.save([make("kept-1", "https://x.test/1"), make("kept-2", "https://x.test/2")], NOW)
    kill_mid_write(WRITER, path, lambda: store.count() > 2000)
    reopened = Store(path)
    guids = {h.guid for h in reopened.headlines(NOW - timedelta(days=7))}
    assert {"kept-1", "kept-2"} <= guids
    assert reopened.count() > 2000  # what the writer committed before the kill is there
    assert reopened.count() % 500 == 2  # whole batches only: a transaction is all or nothing


STATE_WRITER = """
import sys
from datetime import UTC, datetime
from lib.store import FeedFailure, Store
now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
store = Store(sys.argv[1])
print("ready", flush=True)
while True:  # one refresh's worth of feed states at a time, until killed
    store.record_feeds(
        [FeedFailure(f"https://w.test/{i}", "HTTP 503", 503, 1.0) for i in range(40)], now
    )
"""


def test_a_kill_mid_write_leaves_whole_batches_of_feed_states(store_address: Address) -> None:
    path = store_address
    store = Store(path)
    urls = [f"https://w.test/{i}" for i in range(40)]
    kill_mid_write(STATE_WRITER, path, lambda: store.feed_states(urls[:1])[urls[0]].failures > 20)
    failures = {state.failures for state in Store(path).feed_states(urls).values()}
    (count,) = failures  # every feed the same: a batch is all or nothing
    assert count > 20
