"""The real server (`streamlit run streamlit_app.py`, an st.App) with no browser connected:
its lifespan starts the refresher, which fills the store; `/health` answers JSON."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.migrations import LATEST
from lib.store import Store
from tests.browser import app_server
from tests.feeds import Item, rss
from tests.feedserver import FeedServer
from tests.test_refresher import wait_until, write_topics


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_server_with_no_viewer_fills_the_store(tmp_path: Path, feed_server: FeedServer) -> None:
    when = datetime.now(UTC) - timedelta(minutes=5)
    feed_server.route("/a.xml", rss([Item("Stored with nobody looking", when)]))
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": ["/a.xml"]})
    db = tmp_path / "news.db"
    env = {"NEWS_TOPICS": str(topics), "NEWS_DB": str(db)}
    with app_server(env) as base:
        assert wait_until(lambda: db.exists() and Store(db).count() == 1, timeout=60)
        status, health = get_json(f"{base}/health")
        assert status == 200
        assert health["store"]["readable"] is True
        assert health["store"]["schema"] == LATEST
        assert health["store"]["headlines"] == 1
        assert health["store"]["last_stored"] is not None
        assert health["refresher"]["last_error"] is None
    assert feed_server.hits("/a.xml") == 1


def test_no_refresher_when_it_runs_elsewhere(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/a.xml", rss([]))
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": ["/a.xml"]})
    env = {"NEWS_TOPICS": str(topics), "NEWS_DB": str(tmp_path / "folder"),
           "NEWS_REFRESH": "external"}  # fmt: skip
    (tmp_path / "folder").mkdir()  # a store that cannot be read: health says so
    with app_server(env) as base:
        status, health = get_json(f"{base}/health")
        assert status == 503
        assert health["refresher"] is None
        assert health["store"]["readable"] is False
        assert "is a folder" in health["store"]["error"]
    assert feed_server.hits("/a.xml") == 0
