"""The "Subscribe" control in a real browser: the address of the view on screen, copied with
one click, in the page's head for feed-reader extensions, and listing what the page lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.servers import app_server
from tests.test_browser import ARTIFACTS, KEYWORD_BOX, listed_titles, one_feed_env, wait_for_listed

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)


def test_subscribe_copies_the_address_of_the_view(browser, tmp_path: Path) -> None:
    items = [
        Item("Pipeline talks resume", NOW - timedelta(minutes=10), "https://wire.test/1"),
        Item("Naval drill ends", NOW - timedelta(hours=2), "https://wire.test/2"),
        Item("Pipeline deal signed", NOW - timedelta(hours=5), "https://wire.test/3"),
    ]
    with FeedServer() as feeds:
        feeds.route("/feed.xml", rss(items))
        env = one_feed_env(tmp_path, "Wire", feeds.url("/feed.xml"), NOW.isoformat())
        with app_server(env) as base:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            page = context.new_page()
            page.goto(base)
            wait_for_listed(page, 3, timeout=30_000)
            box = page.get_by_placeholder(KEYWORD_BOX)
            box.fill("pipeline")
            box.press("Enter")
            wait_for_listed(page, 2)
            address = f"{base}/feed.rss?q=pipeline"
            # The page's head names the view's feeds for feed-reader extensions.
            page.wait_for_function(
                "(href) => [...document.head.querySelectorAll('link[rel=alternate]')]"
                ".some((link) => link.href === href)",
                arg=address,
                timeout=15_000,
            )
            page.get_by_role("button", name="Subscribe").click()
            page.get_by_text(address).first.wait_for(timeout=15_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "subscribe.png"))
            code = page.locator('[data-testid="stCode"]').first
            code.hover()  # the copy button shows on hover
            code.locator("button").first.click()
            page.wait_for_function(
                "(want) => navigator.clipboard.readText().then((got) => got === want)",
                arg=address,
                timeout=10_000,
            )
            answer = page.request.get(address)
            assert answer.headers["content-type"] == "application/rss+xml; charset=utf-8"
            entries = feedparser.parse(answer.body()).entries
            assert [entry.title for entry in entries] == listed_titles(page)
            context.close()
