"""The real app on a PostgreSQL store: the pages and the refresher above the store do not
know the backend (the same page as tests/test_app.py's, with NEWS_DB a postgresql:// URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.store import Store
from lib.storedb import shown
from support.feedserver import FeedServer
from support.pgserver import PASSWORD_ROLE, PgServer
from tests.markdown import viewer_text
from tests.test_app import (  # noqa: F401  (the fixtures are found by name)
    NOW,
    _fresh_caches,
    bucket_titles,
    env,
    page_html,
    run,
    serve,
    shows_what_another_process_stores,
    write_topics,
)


@pytest.fixture
def pg_env(env: Path, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # noqa: F811
    """`env` with the store in a new PostgreSQL database; yields its URL."""
    url = pg_server.fresh_url()
    monkeypatch.setenv("NEWS_DB", url)
    try:
        yield url
    finally:
        pg_server.drop(url)


def test_the_page_shows_a_postgresql_stores_headlines_and_follows_it(
    env: Path,  # noqa: F811
    pg_env: str,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()  # the refresher's round stores into PostgreSQL, the page reads it
    assert not at.exception
    assert bucket_titles(at)["In the last half-hour"] == ["Xi and Putin meet"]
    shows_what_another_process_stores(at, feed_server, Store(pg_env))


def test_a_refused_postgresql_login_is_one_line_on_the_page_without_the_password(
    env: Path,  # noqa: F811
    pg_server: PgServer,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    url = pg_server.url(user=PASSWORD_ROLE, password="wrong-secret")
    monkeypatch.setenv("NEWS_DB", url)
    at = run()
    assert not at.exception
    assert not at.error
    (line,) = [viewer_text(w.value) for w in at.warning]  # nothing read before: the snapshot
    assert line.startswith("Store unreachable since ")
    assert f"(the headline store {shown(url)} refused the connection: " in line
    assert f'password authentication failed for user "{PASSWORD_ROLE}"' in line
    assert "wrong-secret" not in page_html(at) and "wrong-secret" not in line
    (offline,) = [viewer_text(i.value) for i in at.info if "snapshot" in i.value]
    assert "(the headline store cannot be used)" in offline
