"""The real server (`streamlit run streamlit_app.py`, an st.App) with no browser connected:
its lifespan starts the refresher, which fills the store; `/health` answers JSON."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.migrations import LATEST
from lib.model import Headline
from lib.store import Store
from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.servers import app_server
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


def test_health_says_when_the_store_goes_and_comes_back(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    when = datetime.now(UTC) - timedelta(minutes=5)
    feed_server.route("/a.xml", rss([Item("Stored before the fault", when)]))
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": ["/a.xml"]})
    db = tmp_path / "news.db"
    env = {"NEWS_TOPICS": str(topics), "NEWS_DB": str(db), "NEWS_REFRESH_EVERY": "1"}
    with app_server(env) as base:
        assert wait_until(lambda: db.exists() and Store(db).count() == 1, timeout=60)
        assert wait_until(lambda: get_json(f"{base}/health")[1]["refresher"]["rounds"] >= 1)
        status, before = get_json(f"{base}/health")
        assert status == 200 and before["refresh"] == "app"
        assert before["refresher"]["state"] == "working"
        assert before["refresher"]["last_round"] is not None
        # The store goes away while the server runs (its path becomes a folder).
        db.rename(tmp_path / "moved.db")
        db.mkdir()
        status, down = get_json(f"{base}/health")
        assert status == 503
        assert down["store"] == {
            "readable": False,
            "error": f"The headline store {db} is a folder, not a file: point NEWS_DB at a file.",
        }
        # The refresher waits and retries: one state, however many attempts.
        assert wait_until(lambda: get_json(f"{base}/health")[1]["refresher"]["failures"] >= 2)
        loop = get_json(f"{base}/health")[1]["refresher"]
        assert loop["state"] == "waiting" and loop["failing_since"] is not None
        assert "is a folder" in loop["last_error"]
        # Back: readable again with no restart, nothing stored before lost.
        db.rmdir()
        (tmp_path / "moved.db").rename(db)
        status, back = get_json(f"{base}/health")
        assert status == 200
        assert back["store"]["headlines"] == 1
        assert back["store"]["version"] >= before["store"]["version"]
        assert back["store"]["last_stored"] == before["store"]["last_stored"]
        assert wait_until(lambda: get_json(f"{base}/health")[1]["refresher"]["state"] == "working")
        loop = get_json(f"{base}/health")[1]["refresher"]
        assert loop["failing_since"] is None and loop["last_error"] is None
    assert Store(db).count() == 1


def test_the_server_start_warms_the_first_topics_index_and_stories(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the lifespan warms is what the page then reads: the same index, stories made."""
    from lib.config import load_settings
    from ui import data
    from ui.server import start_warming

    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    topics = write_topics(tmp_path / "t.toml", feed_server, {"one": ["/a.xml"], "two": ["/b.xml"]})
    db = tmp_path / "news.db"
    stored = [Headline(f"Item {n}", f"https://x.test/{n}", "Pub", None,
                       now - timedelta(hours=n), feed_server.url("/a.xml"), f"g{n}")
              for n in range(1, 4)]  # fmt: skip
    Store(db).save(stored, now)
    for name, value in {"NEWS_TOPICS": str(topics), "NEWS_DB": str(db),
                        "NEWS_CLOCK": now.isoformat()}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    data._latest_index.clear()
    try:
        config = load_settings()
        first, second = data.topics(config)
        assert data.last_index(str(db), first) is None
        warming = start_warming(config)
        assert warming is not None
        warming.join(timeout=60)
        warmed = data.last_index(str(db), first)
        assert warmed is not None and [h.title for h in warmed.headlines] == [
            "Item 1",
            "Item 2",
            "Item 3",
        ]
        assert warmed._stories.made is not None  # the stories too
        assert data.topic_index(str(db), first, now) is warmed  # what a page run reads
        assert data.last_index(str(db), second) is None  # only the page a link opens first
        assert start_warming(replace(config, offline=True)) is None
    finally:
        data._latest_index.clear()
