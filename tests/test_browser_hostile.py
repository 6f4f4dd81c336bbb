"""Hostile text in a real browser: feed titles, publications, a failing feed's body, the topics
file, link parameters and a viewer's own feed, drawn on every page, stay text.

The page must make no request to another host, show no link to one, render no maths, and
show the hostile text as the characters it is made of.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.servers import ROOT, app_server

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts"
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
WORD_JOINER = "\u2060"  # invisible; lib.render puts it where Markdown would rewrite text

IMAGE = "![](http://evil.example/x.png)"
LINK = "[Verify](https://evil.example/login)"
TAG = "<img src=http://evil.example/y.png>"
MATH = "$x^2$ and $5 and $10"
COLOUR = ":red[alert]"
WWW = "www.evil.example"
EVIL_HOSTS = ("evil.example", "other.host")

TOPIC_TITLE = f"Hostile {COLOUR} {MATH}"
TOPIC_QUERY = f"x OR {WWW}"
WIRE = f"Wire {LINK}"  # the topics file's name of the feed that works
BROKEN = f"Broken {IMAGE}"  # …and of the one that answers with Markdown
BROKEN_BODY = f"{IMAGE} {LINK} {TAG} {MATH} {COLOUR} {WWW}".encode()
# (title, the <source> publication); titles far enough apart not to be grouped as one story
ITEMS = [
    (f"{IMAGE} Pipeline talks resume Beijing Tuesday morning", f"{IMAGE} Times"),
    (f"{LINK} Naval drill ends early after storms", f"{LINK} Post"),
    (f"{TAG} Grain deal extended another year farmers", f"{TAG} Daily"),
    (f"{MATH} Border crossing reopens trucks", f"{MATH} Journal"),
    (f"{COLOUR} {WWW} Summit date still undecided", f"{COLOUR} {WWW} Herald"),
]
PARAMS = {
    "pubs": "[Verify your account](https://other.host/login)",
    "tz": IMAGE,
    "topic": COLOUR,
    TAG: "1",
}


def hostile_env(tmp_path: Path, feeds: FeedServer) -> dict[str, str]:
    """A topic whose title, query and feed names are hostile, with one good and one bad feed."""
    items = [
        Item(title, NOW - timedelta(minutes=10 + 50 * n), feeds.url(f"/a/{n}"), source=source)
        for n, (title, source) in enumerate(ITEMS)
    ]
    feeds.route("/wire.xml", rss(items, title=f"Channel {IMAGE} {LINK}"))
    feeds.route("/broken.xml", BROKEN_BODY, content_type="text/plain")
    feeds.route("/mine.xml", rss([Item("Own feed item x", NOW - timedelta(minutes=5))]))
    topics = tmp_path / "topics.toml"
    topics.write_text(
        f'[[topic]]\nslug = "t"\ntitle = {json.dumps(TOPIC_TITLE)}\n'
        f"about = {json.dumps(f'About {LINK} {WWW}')}\nquery = {json.dumps(TOPIC_QUERY)}\n"
        'timezone = "UTC"\n'
        f'[[topic.source]]\nname = {json.dumps(WIRE)}\nurl = "{feeds.url("/wire.xml")}"\n'
        "topical = true\n"
        f'[[topic.source]]\nname = {json.dumps(BROKEN)}\nurl = "{feeds.url("/broken.xml")}"\n'
        "topical = true\n"
    )
    return {
        "NEWS_TOPICS": str(topics),
        "NEWS_DB": str(tmp_path / "news.db"),
        "NEWS_CLOCK": NOW.isoformat(),
        "NEWS_ALLOW_PRIVATE_HOSTS": "1",  # the viewer's own feed is on 127.0.0.1 too
    }


def shown_text(page) -> str:
    """What the viewer reads on the page (the invisible word joiners taken out)."""
    return page.inner_text("body").replace(WORD_JOINER, "")


def wait_for_text(page, text: str, timeout: float = 30_000) -> None:
    """Until the viewer can read `text` on the page."""
    page.wait_for_function(
        "t => document.body.innerText.replaceAll('\\u2060', '').includes(t)",
        arg=text,
        timeout=timeout,
    )


def assert_stays_text(page, literal: list[str]) -> None:
    """No link to an outside host, no maths, no image from outside, `literal` shown as is."""
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert not [h for h in hrefs if (urlsplit(h).hostname or "").endswith(EVIL_HOSTS)], hrefs
    assert page.locator(".katex, .katex-display, math").count() == 0
    images = page.eval_on_selector_all("img", "els => els.map(e => e.src)")
    assert not [src for src in images if not src.startswith(("data:", "http://127.0.0.1:"))]
    text = shown_text(page)
    for expected in literal:
        assert expected in text, expected
    assert "\\" not in text  # no escape shows through


def test_hostile_text_stays_text_on_every_page(browser, tmp_path: Path) -> None:
    with FeedServer() as feeds:
        env = hostile_env(tmp_path, feeds)
        with app_server(env) as base:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            outside: list[str] = []

            def local_only(route) -> None:
                if urlsplit(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:  # noted and never sent
                    outside.append(route.request.url)
                    route.abort()

            context.route("**/*", local_only)
            page = context.new_page()
            page.goto(f"{base}/?{urlencode(PARAMS)}")
            wait_for_text(page, "it begins:")
            wait_for_text(page, "Pipeline talks resume")
            wait_for_text(page, "Times (1)")  # the publication pills
            page.mouse.move(1200, 20)
            page.wait_for_timeout(1000)  # any image the page asked for has been requested
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "hostile-feed.png"))
            # The pills and the list, below the fold (the page scrolls inside its main block).
            page.locator("div.np-bucket").first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "hostile-feed-list.png"))
            text = shown_text(page)
            assert TOPIC_TITLE in text  # the page title
            for title, publication in ITEMS:
                assert title in text  # the headline list
                assert f"{publication} (1)" in text  # the pills
            assert f"{WIRE} (" not in text  # <source> names the publications, not the feed
            assert f"1 of 2 sources failed: {BROKEN} (not a feed: the response is not XML " \
                f"(it begins: {IMAGE})). Their earlier" in text  # fmt: skip
            # What the link asked that the page cannot do, shown once.
            assert f"Publication “{PARAMS['pubs']}” is not available now" in text
            assert f"Time zone “{IMAGE}” is not available now" in text
            assert f"Topic “{COLOUR}” is not available now" in text
            assert f"“{TAG}” is not a setting of this page" in text
            assert_stays_text(page, [])

            # The viewer adds a feed whose address carries Markdown.
            mine = feeds.url(f"/mine.xml?{LINK}")
            page.get_by_text("Your feeds (0 of 5)").click()
            page.get_by_placeholder("https://example.com/rss.xml").fill(mine)
            page.get_by_role("button", name="Add feed").click()
            wait_for_text(page, "Own feed item x")
            wait_for_text(page, f"{mine} — ok")
            page.wait_for_timeout(1000)
            assert_stays_text(page, [mine])

            # The chart's tooltip names a publication as text.
            bar = page.locator('.vega-embed g.mark-rect path[aria-label*="Its headlines: 1"]').first
            box = bar.bounding_box()
            assert box
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            tooltip = page.locator("#vg-tooltip-element")
            tooltip.wait_for(state="visible", timeout=10_000)
            assert tooltip.locator("img, a").count() == 0
            assert any(publication in tooltip.inner_text() for _, publication in ITEMS)
            page.mouse.move(1200, 20)

            page.get_by_test_id("stTopNav").get_by_role("link", name="Sources").click()
            wait_for_text(page, "feeds of")
            page.wait_for_timeout(1000)
            assert_stays_text(page, [f"The 2 feeds of {TOPIC_TITLE}, as of their last refresh."])

            page.get_by_test_id("stTopNav").get_by_role("link", name="About").click()
            wait_for_text(page, "About our")
            page.wait_for_timeout(1000)
            assert_stays_text(
                page,
                [
                    f"About our {TOPIC_TITLE}",
                    f"About {LINK} {WWW}",
                    f"matches the topic's query: {TOPIC_QUERY}.",
                ],
            )
            assert outside == []
            context.close()
