"""A real browser with a tampered last-visit cookie: the page must open as if it had none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.servers import app_server
from tests.test_browser import LISTED, one_feed_env, wait_for_listed

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
TITLES = ("Pipeline talks resume", "Joint naval drill ends", "Summit date undecided")


def test_a_tampered_last_visit_cookie_is_ignored(browser, tmp_path: Path) -> None:
    # Each once stopped the page: year 1 at +14:00 is before year 1 in UTC.
    tampered = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z"]
    with FeedServer() as feeds:
        items = [Item(title, NOW - timedelta(hours=n + 1)) for n, title in enumerate(TITLES)]
        feeds.route("/feed.xml", rss(items))
        env = one_feed_env(tmp_path, "Wire", feeds.url("/feed.xml"), NOW.isoformat())
        # A zone west of UTC, where a year-1 UTC time is before the calendar's start.
        topics = Path(env["NEWS_TOPICS"])
        topics.write_text(topics.read_text().replace('"UTC"', '"America/New_York"'))
        with app_server(env) as base:
            for value in tampered:
                context = browser.new_context(viewport={"width": 1280, "height": 1000})
                context.add_cookies([
                    {"name": "news_consent", "value": "1", "url": base},
                    {"name": "news_last_visit", "value": value, "url": base},
                ])  # fmt: skip
                page = context.new_page()
                page.goto(base)
                wait_for_listed(page, len(TITLES))
                assert sorted(page.locator(f"{LISTED} > a").all_inner_texts()) == sorted(TITLES)
                assert page.locator(".np-new-note").count() == 0
                assert page.get_by_text("This app has encountered an error").count() == 0
                # The tampered value is replaced by this visit.
                page.wait_for_function(
                    "document.cookie.includes('news_last_visit=2024-09-18T03:22:00Z')",
                    timeout=15_000,
                )
                context.close()
