"""A page left open: what the server's refresher stores appears with no reload and no click,
and the viewer's filters, chart range, paging and opened stories stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.servers import ROOT, app_server
from tests.test_browser import LISTED, listed_titles, wait_for_listed
from tests.test_refresher import wait_until

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts"
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
# Wire's "pipeline" headlines an hour apart (a number each: never one story), the last ten
# before the range the link picks.
IN_RANGE = [Item(f"Pipeline report {n}", NOW - timedelta(hours=n)) for n in range(1, 61)]
BEFORE_RANGE = [Item(f"Pipeline report {n}", NOW - timedelta(hours=n)) for n in range(80, 90)]
STORY = Item("Xi and Putin sign pipeline energy deal in Moscow", NOW - timedelta(minutes=90))
COPY = Item("Putin, Xi sign new pipeline energy agreement in Moscow", NOW - timedelta(minutes=80))
ARRIVING = Item("Pipeline report arrives late", NOW - timedelta(minutes=30))


def test_an_open_page_shows_what_arrives_and_keeps_the_view(browser, tmp_path: Path) -> None:
    wire = [STORY, *IN_RANGE, *BEFORE_RANGE]
    courier = [Item(f"Pipeline courier note {n}", NOW - timedelta(hours=n)) for n in range(2, 6)]
    with FeedServer() as feeds:
        feeds.route("/wire.xml", rss(wire), etag='"w1"')
        feeds.route("/courier.xml", rss(courier), etag='"c1"')
        feeds.route("/herald.xml", rss([COPY]), etag='"h1"')
        sources = "".join(
            f'[[topic.source]]\nname = "{name}"\nurl = "{feeds.url(f"/{name.lower()}.xml")}"\n'
            "topical = true\n"
            for name in ("Wire", "Courier", "Herald")
        )
        topics = tmp_path / "topics.toml"
        topics.write_text(
            '[[topic]]\nslug = "t"\ntitle = "Live test"\nabout = "x"\nquery = "x"\n'
            f'timezone = "UTC"\n{sources}'
        )
        db = tmp_path / "news.db"
        env = {"NEWS_TOPICS": str(topics), "NEWS_DB": str(db), "NEWS_CLOCK": NOW.isoformat(),
               "NEWS_REFRESH_EVERY": "2"}  # fmt: skip
        with app_server(env) as base:
            from lib.store import Store

            stored = len(wire) + len(courier) + 1
            assert wait_until(lambda: Store(db).count() == stored, timeout=60)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            page = context.new_page()
            link = {"q": "pipeline", "pub_mode": "except", "pubs": "Courier",
                    "from": "2024-09-15T00:00:00Z", "to": "2024-09-18T06:00:00Z"}  # fmt: skip
            page.goto(f"{base}/?{urlencode(link)}")
            # The story, and 60 of Wire's reports: 50 on the first page.
            wait_for_listed(page, 50, timeout=30_000)
            page.get_by_role("button", name="view more headlines (11 more stories)").click()
            wait_for_listed(page, 61)
            # The story's row is its newest report, the copy.
            row = f"{LISTED}:has(> a:text('{COPY.title}'))"
            story = page.locator(f"{row} details.np-more")
            story.locator("summary").click()
            assert story.evaluate("d => d.open")
            before = listed_titles(page)
            assert ARRIVING.title not in before
            assert page.locator(".np-new-note").count() == 0

            # A headline arrives: served by the feed, fetched and stored by the refresher.
            feeds.route("/wire.xml", rss([*wire, ARRIVING]), etag='"w2"')  # links kept
            assert wait_until(lambda: Store(db).count() == stored + 1, timeout=30)
            page.get_by_role("link", name=ARRIVING.title).wait_for(timeout=60_000)

            wait_for_listed(page, 62)  # the paging held: 62 of a limit of 100
            assert sorted(listed_titles(page)) == sorted([*before, ARRIVING.title])
            marked = page.locator(f"{LISTED}.np-new > a").all_inner_texts()
            assert marked == [ARRIVING.title]
            assert page.locator(".np-new-note").inner_text() == (
                "1 arrived while this page was open, marked in blue"
            )
            assert story.evaluate("d => d.open"), "the opened story was closed"
            chip = page.locator(".st-key-chip-range button:visible").first
            assert "63 headlines from " in chip.inner_text()
            playwright_api.expect(
                page.get_by_placeholder('e.g. trade OR "gas pipeline"')
            ).to_have_value("pipeline")
            assert page.get_by_role("radio", name="All but the selected").is_checked()
            params = parse_qs(urlsplit(page.url).query)
            assert params == {key: [value] for key, value in link.items()}
            assert page.get_by_role("button", name="view more headlines").count() == 0

            ARTIFACTS.mkdir(exist_ok=True)
            page.mouse.move(5, 5)
            page.screenshot(path=str(ARTIFACTS / "live-1280.png"))
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "live-390.png"))
            context.close()


def test_a_range_clicked_on_the_chart_stays_when_a_headline_arrives(
    browser, tmp_path: Path
) -> None:
    """The chart is redrawn with the new headline (outside any fragment: the whole page
    reruns) and the bar the viewer clicked stays chosen: its range, chip and link."""
    from tests.test_browser import one_feed_env

    in_slot = [Item(f"Early report {n}", NOW - timedelta(hours=n)) for n in (1, 2, 3)]
    earlier = [Item(f"Older report {n}", NOW - timedelta(hours=n)) for n in (10, 20, 30)]
    items = [*in_slot, *earlier]
    with FeedServer() as feeds:
        feeds.route("/feed.xml", rss(items), etag='"a"')
        env = one_feed_env(tmp_path, "Wire", feeds.url("/feed.xml"), NOW.isoformat())
        env["NEWS_REFRESH_EVERY"] = "2"
        with app_server(env) as base:
            from lib.store import Store

            db = Path(env["NEWS_DB"])
            assert wait_until(lambda: Store(db).count() == len(items), timeout=60)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            page = context.new_page()
            page.goto(base)
            wait_for_listed(page, len(items), timeout=30_000)
            slot = page.locator(
                '.vega-embed g.mark-rect path[aria-label*="Slot: 00:00–06:00, 18 Sep;"]'
            )
            slot.first.wait_for(timeout=15_000)
            box = slot.first.bounding_box()
            assert box and box["height"] > 0
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            wait_for_listed(page, len(in_slot))
            page.wait_for_function("location.search.includes('from=')", timeout=15_000)
            link = page.url

            feeds.route("/feed.xml", rss([*items, ARRIVING]), etag='"b"')  # links kept
            page.get_by_role("link", name=ARRIVING.title).wait_for(timeout=60_000)
            wait_for_listed(page, len(in_slot) + 1)
            assert page.url == link
            chip = page.locator(".st-key-chip-range button:visible").first
            assert f"{len(in_slot) + 1} headlines from " in chip.inner_text()
            assert page.locator(f"{LISTED}.np-new > a").all_inner_texts() == [ARRIVING.title]
            context.close()
