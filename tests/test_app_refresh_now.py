"""The "Refresh now" throttle on the real page: once every 30 seconds, whoever asks; the
button comes back when the 30 seconds are over (issue 12: this was untested)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.store import MIN_REFRESH_INTERVAL, Store
from support.feedserver import FeedServer
from tests.test_app import (  # noqa: F401 (fixtures)
    _fresh_caches,
    env,
    load_settings_topic,
    page,
    refresh,
    serve,
    write_topics,
)


def test_refresh_now_comes_back_after_the_interval(
    env: Path,  # noqa: F811
    feed_server: FeedServer,
    monkeypatch,
) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    refresh(-timedelta(minutes=2))  # the refresher's last round, two minutes ago
    store = Store(env / "news.db")
    urls = [source.url for source in load_settings_topic().sources]
    wall = datetime.now(UTC)
    # Someone asked a little over the interval ago: anyone may ask again.
    asked = wall - MIN_REFRESH_INTERVAL - timedelta(seconds=5)
    assert store.request_refresh("china-russia", urls, asked)
    at = page()
    assert not at.exception
    assert at.button(key="refresh").disabled is False
    # Asked again (the interval after the first): nobody may ask until 30 s have passed.
    assert store.request_refresh("china-russia", urls, asked + MIN_REFRESH_INTERVAL)
    assert at.run().button(key="refresh").disabled
    assert page().button(key="refresh").disabled  # for every viewer
    # The store refuses a request within the interval whoever makes it.
    later = asked + MIN_REFRESH_INTERVAL + timedelta(seconds=1)
    assert not store.request_refresh("china-russia", urls, later)
