"""Shared fixtures: a real HTTP server on 127.0.0.1 that serves test feeds, Debian's
chromium driven by Playwright for the browser tests, and a real PostgreSQL server
(`support/pgserver.py`) that every store test runs on as well as on a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lib.storedb import Address, close_pools
from support import pgserver
from support.feedserver import FeedServer
from support.servers import CHROMIUM, CHROMIUM_ARGS

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A fresh feed server on 127.0.0.1 for one test."""
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium, headless, once per test module."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make test`, which installs it")
    from playwright import sync_api  # only the browser tests need Playwright

    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    """One PostgreSQL cluster for the whole run, started on first use (about a second),
    stopped and removed at the end."""
    if not pgserver.available():
        pytest.fail("PostgreSQL 15 is missing: run `make test`, which installs it")
    server = pgserver.PgServer()
    try:
        yield server
    finally:
        close_pools()
        server.remove()


@contextmanager
def empty_store(request: pytest.FixtureRequest, sqlite_file: Path) -> Iterator[Address]:
    """An empty store on the backend `request.param` names: `sqlite_file`, or a database of
    its own on the test PostgreSQL server (dropped afterwards)."""
    if request.param == "sqlite":
        yield sqlite_file
        return
    server: pgserver.PgServer = request.getfixturevalue("pg_server")
    url = server.fresh_url()
    try:
        yield url
    finally:
        close_pools()  # this process's connections to it; other processes' are cut by DROP
        server.drop(url)


@pytest.fixture(params=BACKENDS)
def store_address(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Address]:
    """Where a test's store lives, once per backend: a SQLite file in the test's folder,
    or an empty database of its own on the test PostgreSQL server."""
    with empty_store(request, tmp_path / "news.db") as address:
        yield address
