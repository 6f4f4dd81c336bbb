"""An open page when the store goes away and comes back, and when no source can be reached:
it keeps what it read with one line saying since when, recovers by itself, and shows what a
refresher stores later, with no reload and no click (chromium against a real server)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lib.model import Headline
from lib.store import Store
from support.feedserver import FeedServer
from support.servers import ROOT, app_server
from tests.test_browser import listed_titles, one_feed_env, wait_for_listed

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts"
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
NOTE = "div[data-testid='stAlertContentWarning']"


def headline(n: int, minutes: int, source: str) -> Headline:
    words = ("Harbour cranes idle", "Glacier melt measured", "Orchard frost warning",
             "Violin maker retires", "Comet seen at dawn")  # fmt: skip
    return Headline(words[n], f"https://wire.test/{n}", "Wire", None,
                    NOW - timedelta(minutes=minutes), source, f"g{n}")  # fmt: skip


def open_page(browser: object, base: str) -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
    page = context.new_page()
    page.goto(base)
    return page


def test_a_page_keeps_its_headlines_while_the_store_is_away(browser, tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route("/feed.xml", b"", status=500)  # nothing comes from the feed itself
        env = one_feed_env(tmp_path, "Wire", feeds.url("/feed.xml"), NOW.isoformat())
        env["NEWS_REFRESH"] = "external"
        db = Path(env["NEWS_DB"])
        source = feeds.url("/feed.xml")
        Store(db).save([headline(n, 10 * n + 5, source) for n in range(3)], NOW)
        with app_server(env) as base:
            page = open_page(browser, base)
            wait_for_listed(page, 3, timeout=30_000)
            before = listed_titles(page)
            # The store goes away (its path becomes a folder) while the page is open.
            db.rename(tmp_path / "moved.db")
            db.mkdir()
            note = page.locator(NOTE, has_text="Store unreachable since")
            note.wait_for(timeout=60_000)  # the page's next look at the store
            said = note.inner_text()
            assert " — showing what was read before; point NEWS_DB at a file (the headline " in said
            assert listed_titles(page) == before
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "store-unreachable-1280.png"))
            # Back: the page recovers by itself and follows the store again.
            db.rmdir()
            (tmp_path / "moved.db").rename(db)
            note.wait_for(state="detached", timeout=30_000)
            Store(db).save([headline(3, 1, source)], NOW)
            page.get_by_role("link", name="Violin maker retires").wait_for(timeout=60_000)
            wait_for_listed(page, 4)
            page.context.close()


def test_an_offline_page_shows_what_is_stored_later(browser, tmp_path: Path) -> None:
    dead = FeedServer()
    with dead:
        url = dead.url("/feed.xml")  # gone: its port refuses connections
    env = one_feed_env(tmp_path, "Wire", url, NOW.isoformat())
    env["NEWS_REFRESH"] = "external"
    done = subprocess.run(
        [sys.executable, "-m", "lib", "refresh"], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # the one source failed
    db = Path(env["NEWS_DB"])
    with app_server(env) as base:
        page = open_page(browser, base)
        page.get_by_text("Offline (no source could be reached)").wait_for(timeout=30_000)
        # A refresher reaches a source later (stored here as it would store it).
        Store(db).save([headline(4, 3, url)], NOW)
        page.get_by_role("link", name="Comet seen at dawn").wait_for(timeout=60_000)
        assert page.get_by_text("Offline (no source could be reached)").count() == 0
        page.context.close()
