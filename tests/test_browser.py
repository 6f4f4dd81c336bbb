"""A real browser (Debian's chromium via Playwright) against the real app server, offline."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from support.servers import ROOT, app_server
from tests.test_refresher import wait_until

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

SEED_TITLES = [
    "Bush Center to host Engage NexPoint Lecture about the looming China-Russia threat",
    "Serbia is Not a Russian Ally",
    "Russian, Chinese Navies Conduct Firing Exercises",
    "Connecting alliances in Asia and Europe",
    "Global conflicts and stable instability",
    "The Olympics: Arenas of Contention",
    "China’s hypocritical land claims",
    "Vladimir Putin’s Pivot to China is backfiring",
    "Kamala Harris, Donald Trump, and the Race to Oblivion",
    "China-Russia relations might have a few limits after all",
]
NOTICE = "By clicking"
ARTIFACTS = ROOT / "tests" / "artifacts"


def test_offline_default_consent_and_reload(browser, tmp_path: Path) -> None:
    env = {"NEWS_OFFLINE": "1", "NEWS_DB": str(tmp_path / "news.db")}
    with app_server(env) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 1100})
        page = context.new_page()
        external: list[str] = []

        def note_external(request) -> None:
            if not request.url.startswith((base, "data:", "blob:")):
                external.append(request.url)

        page.on("request", note_external)
        # A first deep link to /about on a freshly started server still shows the notice.
        page.goto(f"{base}/about")
        page.get_by_text(NOTICE).first.wait_for(timeout=30_000)
        page.get_by_text("About our China-Russia news").first.wait_for()

        page.goto(base)
        page.get_by_text(SEED_TITLES[-1]).wait_for(timeout=30_000)
        for title in SEED_TITLES:
            assert page.get_by_role("link", name=title).count() == 1, title
        assert page.get_by_text("18 Sep 04:22").count() >= 1
        assert page.get_by_text("bundled snapshot").count() >= 1
        notice = page.get_by_text(NOTICE)
        assert notice.count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "offline-with-notice.png"), full_page=True)

        page.get_by_role("button", name="OK").click()
        notice.wait_for(state="detached", timeout=15_000)
        # The cookie holds a random id of the browser (what keeps its own feeds).
        page.wait_for_function(
            "document.cookie.match(/news_consent=[A-Za-z0-9_-]{22}/)", timeout=15_000
        )
        page.reload()
        page.get_by_text(SEED_TITLES[0]).wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        assert page.get_by_text(NOTICE).count() == 0
        page.screenshot(path=str(ARTIFACTS / "offline.png"), full_page=True)
        # The page loads nothing from anywhere but the app itself.
        assert external == []
        context.close()


HOSTILE = [
    ("<script>alert('title')</script> Summit", "javascript:alert('link')"),
    ('<img src="https://evil.test/pixel.png" onerror="alert(1)"> Talks', "https://ok.test/1"),
    ("![tracker](https://evil.test/md.png) Markdown", "data:text/html,<script>alert(2)</script>"),
    ("[click me](javascript:alert(3)) and $x^2$ and :red[red] **bold**", "https://ok.test/2"),
    ('<style>body { display: none }</style> Style', "vbscript:msgbox(4)"),
    ('"><svg onload=alert(5)> Quote breakout', 'https://ok.test/3" onmouseover="alert(6)'),
]  # fmt: skip


def one_feed_env(tmp_path: Path, name: str, url: str, clock: str) -> dict[str, str]:
    """The app's environment for a topic of one topical feed, a fresh store and a fixed clock."""
    topics = tmp_path / "topics.toml"
    topics.write_text(
        '[[topic]]\nslug = "t"\ntitle = "Test topic"\nabout = "x"\nquery = "x"\n'
        f'timezone = "UTC"\n[[topic.source]]\nname = "{name}"\nurl = "{url}"\ntopical = true\n'
    )
    return {"NEWS_TOPICS": str(topics), "NEWS_DB": str(tmp_path / "news.db"), "NEWS_CLOCK": clock}


def hostile_feed() -> bytes:
    from xml.sax.saxutils import escape

    items = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<guid isPermaLink='false'>h{n}</guid>"
        f"<pubDate>Tue, 17 Sep 2024 1{n}:00:00 +0000</pubDate>"
        f"<description>{escape('<img src=https://evil.test/d.png>')}</description></item>"
        for n, (title, link) in enumerate(HOSTILE)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Hostile</title><link>https://ok.test/</link>{items}</channel></rss>"
    ).encode()


def test_hostile_titles_stay_text(browser, tmp_path: Path) -> None:
    from support.feedserver import FeedServer
    from ui.a11y import UNNAMED_MARKS_SCRIPT
    from ui.explore import ALTERNATE_SCRIPT, KEEP_OPEN_SCRIPT

    with FeedServer() as feeds:
        feeds.route("/hostile.xml", hostile_feed())
        env = one_feed_env(tmp_path, "Hostile", feeds.url("/hostile.xml"), "2024-09-18T03:22:00Z")
        with app_server(env) as base:
            context = browser.new_context()
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            page = context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            outside: list[str] = []
            page.on(
                "request",
                lambda r: (
                    outside.append(r.url)
                    if not r.url.startswith((base, "data:", "blob:"))
                    else None
                ),
            )
            page.goto(base)
            page.get_by_text("Quote breakout").wait_for(timeout=30_000)
            page.wait_for_timeout(1000)  # give any injected script its chance to run
            body = page.inner_text("body")
            for title, _ in HOSTILE:
                assert title in body, title  # shown as the characters it is made of
            assert dialogs == []
            assert outside == []
            hrefs = page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            assert not [h for h in hrefs if not h.startswith(("http://", "https://", "/", "#"))]
            assert page.locator("main svg[onload], main img[onerror]").count() == 0
            # The only scripts are the page's own (cookie writers, the opened stories kept
            # open, the view's feeds put in the head), never feed text.
            scripts = page.eval_on_selector_all("main script", "s => s.map(e => e.textContent)")
            feeds_head = ALTERNATE_SCRIPT.split("%(")[0]  # before the view's own addresses
            assert all(
                text.startswith("document.cookie = 'news_")
                or text in (KEEP_OPEN_SCRIPT, UNNAMED_MARKS_SCRIPT)
                or text.startswith(feeds_head)
                for text in scripts
            ), scripts
            # The injected <style> did not restyle the page.
            assert page.evaluate("getComputedStyle(document.body).display") != "none"
            assert page.get_by_text("Quote breakout").is_visible()
            page.screenshot(path=str(ARTIFACTS / "hostile.png"), full_page=True)
            context.close()


def test_stored_headlines_stay_while_the_refresher_fetches(browser, tmp_path: Path) -> None:
    """The server's own refresher fetches (no viewer's run does): stored headlines are on
    screen at once, the freshness line says what is being fetched, and what the refresher
    stores is there on the next run."""
    from datetime import UTC, datetime, timedelta

    from lib.model import Headline
    from lib.store import Store
    from support.feeds import Item, rss
    from support.feedserver import FeedServer

    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    with FeedServer() as feeds:
        fast, slow = feeds.url("/fast.xml"), feeds.url("/slow.xml")
        feeds.route("/fast.xml", rss([Item("Fast feed story", now - timedelta(minutes=5))]))
        slow_body = rss([Item("Slow feed story", now - timedelta(minutes=2))])
        release = threading.Event()  # the slow feed answers once the test has seen the line

        def answer_when_released(handler) -> None:
            release.wait(60)
            handler.send_response(200)
            handler.send_header("Content-Type", "application/rss+xml")
            handler.send_header("Content-Length", str(len(slow_body)))
            handler.end_headers()
            handler.wfile.write(slow_body)

        feeds.route_handler("/slow.xml", answer_when_released)
        topics = tmp_path / "topics.toml"
        topics.write_text(
            '[[topic]]\nslug = "t"\ntitle = "Refresh test"\nabout = "x"\nquery = "x"\n'
            'timezone = "UTC"\n'
            f'[[topic.source]]\nname = "Fast"\nurl = "{fast}"\ntopical = true\n'
            f'[[topic.source]]\nname = "Slow"\nurl = "{slow}"\ntopical = true\n'
        )
        db = tmp_path / "news.db"
        # What an earlier refresh stored: on screen at once, while the new one runs.
        Store(db).save([Headline("Stored earlier", "https://x.test/s", "Fast", None,
                                 now - timedelta(hours=1), fast, "s1")], now)  # fmt: skip
        env = {"NEWS_TOPICS": str(topics), "NEWS_DB": str(db), "NEWS_CLOCK": now.isoformat(),
               "NEWS_FETCH_DEADLINE": "60"}  # fmt: skip
        with app_server(env) as base:
            context = browser.new_context()
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            page = context.new_page()
            page.goto(base)
            # Both claimed, or only the slow one left once the fast one is stored: a feed's
            # claim goes back in the transaction that stores it.
            fetching = page.get_by_text(
                re.compile(r"Refreshing: [12] of 2 sources being fetched now")
            )
            for _ in range(10):  # the refresher claims its feeds as the server starts
                page.get_by_role("link", name="Stored earlier").wait_for(timeout=30_000)
                if fetching.count():
                    break
                page.reload()
            assert fetching.is_visible()
            page.screenshot(path=str(ARTIFACTS / "refreshing.png"))
            release.set()
            assert wait_until(lambda: Store(db).count() == 3)
            page.reload()
            page.get_by_role("link", name="Slow feed story").wait_for(timeout=30_000)
            assert page.get_by_text("Refreshing:").count() == 0
            assert page.get_by_role("link", name="Stored earlier").is_visible()
            assert page.get_by_role("link", name="Fast feed story").is_visible()
            context.close()
        assert feeds.hits("/fast.xml") == 1 and feeds.hits("/slow.xml") == 1


# The headlines on the page, in order: the lead of each story (never the copies folded in it).
# The two sizes the look and state tests draw the page at: a desktop and a phone.
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def sized_context(browser, base: str, size: str, *, agreed: bool):
    """A new browser context of `SIZES[size]`; with the consent cookie for `base` when
    `agreed` (the notice then never shows)."""
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    if agreed:
        context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
    return context


LISTED = "div.np-bucket ul.np-list:not(.np-sub) > li"
KEYWORD_BOX = 'e.g. trade OR "gas pipeline"'


def listed_titles(page) -> list[str]:
    return page.locator(f"{LISTED} > a").all_inner_texts()


def wait_for_listed(page, count: int, timeout: float = 20_000) -> None:
    """Until the page lists exactly `count` headlines (a rerun replaces the list)."""
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n",
        arg=[LISTED, count],
        timeout=timeout,
    )


def test_clicking_a_density_bar_narrows_the_list(browser, tmp_path: Path) -> None:
    from datetime import datetime
    from urllib.parse import parse_qs, urlsplit

    env = {"NEWS_OFFLINE": "1", "NEWS_DB": str(tmp_path / "news.db")}
    with app_server(env) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 1100})
        context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
        page = context.new_page()
        page.goto(base)
        page.get_by_text(SEED_TITLES[-1]).wait_for(timeout=30_000)
        wait_for_listed(page, len(SEED_TITLES))
        # The chart is vega-embed's SVG: each bar segment is a <path> whose aria-label holds
        # its tooltip fields, so the 06:00–12:00 slot of 16 Sep (Europe/London) is found by
        # its label, and clicked where it is drawn (Vega picks the mark under the pointer).
        slot_label = "Slot: 06:00–12:00, 16 Sep;"
        segments = page.locator(f'.vega-embed g.mark-rect path[aria-label*="{slot_label}"]')
        segments.first.wait_for(timeout=15_000)
        label = segments.first.get_attribute("aria-label") or ""
        in_slot = int(label.split("Headlines: ")[1].split(";")[0])
        assert 0 < in_slot < len(SEED_TITLES)
        box = segments.first.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

        chip = page.locator(".st-key-chip-range button:visible").first
        chip.wait_for(timeout=15_000)
        wait_for_listed(page, in_slot)
        assert f"{in_slot} headlines from " in chip.inner_text()
        page.wait_for_function(
            "location.search.includes('from=') && location.search.includes('to=')",
            timeout=15_000,
        )
        params = parse_qs(urlsplit(page.url).query)
        start = datetime.fromisoformat(params["from"][0].replace("Z", "+00:00"))
        end = datetime.fromisoformat(params["to"][0].replace("Z", "+00:00"))
        # 06:00–12:00 BST is 05:00–11:00 UTC.
        assert (params["from"], params["to"]) == (
            ["2024-09-16T05:00:00Z"],
            ["2024-09-16T11:00:00Z"],
        )
        titles = listed_titles(page)
        assert titles == ["Connecting alliances in Asia and Europe",
                          "Global conflicts and stable instability"]  # fmt: skip
        stamps = page.locator(f"{LISTED} > .np-meta time").evaluate_all(
            "els => els.map(e => e.getAttribute('datetime'))"
        )
        assert len(stamps) == len(titles)
        for stamp in stamps:
            assert start <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) < end, stamp
        page.mouse.move(700, 80)  # off the chart: no tooltip over the screenshot
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "drilldown.png"), full_page=True)

        chip.click()  # the chip's remove
        wait_for_listed(page, len(SEED_TITLES))
        chip.wait_for(state="detached", timeout=15_000)
        assert sorted(listed_titles(page)) == sorted(SEED_TITLES)
        page.wait_for_function("!location.search.includes('from=')", timeout=15_000)
        context.close()


def test_a_copied_link_reproduces_the_view(browser, tmp_path: Path) -> None:
    keyword = "China"
    # The snapshot's headlines with the whole word "China" (not "Chinese"), newest first.
    expected = [SEED_TITLES[i] for i in (0, 6, 7, 9)]
    env = {"NEWS_OFFLINE": "1", "NEWS_DB": str(tmp_path / "news.db")}
    with app_server(env) as base:
        first = browser.new_context(viewport={"width": 1280, "height": 1100})
        first.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
        page = first.new_page()
        page.goto(base)
        page.get_by_text(SEED_TITLES[-1]).wait_for(timeout=30_000)
        box = page.get_by_placeholder(KEYWORD_BOX)
        box.fill(keyword)
        box.press("Enter")
        wait_for_listed(page, len(expected))
        page.get_by_test_id("stSidebar").get_by_text("UTC", exact=True).click()
        page.wait_for_function(
            "location.search.includes('q=') && location.search.includes('tz=utc')",
            timeout=15_000,
        )
        # The clock line is in UTC now (the snapshot's 04:22 BST).
        page.wait_for_function("document.body.innerText.includes('03:22 · UTC')", timeout=15_000)
        wait_for_listed(page, len(expected))
        # The list is redrawn after the clock line: wait until its newest time is in UTC too
        # (the seed's 15:21 BST).
        page.wait_for_function(
            "sel => document.querySelector(sel)?.textContent === '14:21 17-Sep-24'",
            arg=f"{LISTED} > .np-meta time",
            timeout=15_000,
        )
        link = page.url
        assert "q=China" in link and "tz=utc" in link
        assert page.get_by_role("radio", name="UTC").is_checked()
        titles = listed_titles(page)
        times = page.locator(f"{LISTED} > .np-meta time").all_inner_texts()
        assert titles == expected
        first.close()

        second = browser.new_context(viewport={"width": 1280, "height": 1100})
        second.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
        page = second.new_page()
        page.goto(link)
        page.get_by_text(expected[-1]).wait_for(timeout=30_000)
        wait_for_listed(page, len(expected))
        assert listed_titles(page) == titles
        assert page.locator(f"{LISTED} > .np-meta time").all_inner_texts() == times
        # The box is filled from the link after the list is drawn: wait for it, do not race it.
        playwright_api.expect(page.get_by_placeholder(KEYWORD_BOX)).to_have_value(
            keyword, timeout=15_000
        )
        assert page.get_by_role("radio", name="UTC").is_checked()
        second.close()


def test_new_since_last_visit_is_marked(browser, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from support.feeds import Item, rss
    from support.feedserver import FeedServer

    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    last_visit = datetime(2024, 9, 17, 21, 0, tzinfo=UTC)
    ages = {
        "Pipeline talks resume in Beijing": timedelta(minutes=10),
        "Joint naval drill ends early": timedelta(hours=2),
        "Grain deal extended for a year": timedelta(hours=5),
        "Border crossing reopens to trucks": timedelta(hours=9),
        "Summit date still undecided": timedelta(hours=30),
    }
    fresh = [title for title, age in ages.items() if now - age > last_visit]
    assert 0 < len(fresh) < len(ages)
    with FeedServer() as feeds:
        feeds.route("/feed.xml", rss([Item(title, now - age) for title, age in ages.items()]))
        env = one_feed_env(tmp_path, "Wire", feeds.url("/feed.xml"), now.isoformat())
        with app_server(env) as base:
            context = browser.new_context(viewport={"width": 1280, "height": 1100})
            context.add_cookies([
                {"name": "news_consent", "value": "1", "url": base},
                {"name": "news_last_visit", "value": last_visit.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "url": base},
            ])  # fmt: skip
            page = context.new_page()
            page.goto(base)
            page.get_by_text(f"{len(fresh)} new since your last visit").wait_for(timeout=30_000)
            wait_for_listed(page, len(ages))
            note = page.locator(".np-new-note").inner_text()
            assert (
                note
                == f"{len(fresh)} new since your last visit at 21:00 17 Sep 2024, marked in blue"
            )
            marked = page.locator(f"{LISTED}.np-new > a").all_inner_texts()
            assert sorted(marked) == sorted(fresh)
            assert page.locator("li.np-new").count() == len(fresh)
            # This visit is remembered for the next one.
            page.wait_for_function(
                "document.cookie.includes('news_last_visit=2024-09-18T03:22:00Z')",
                timeout=15_000,
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "new-since-visit.png"), full_page=True)
            context.close()


def test_downloads_hold_the_view(browser, tmp_path: Path) -> None:
    """The CSV and RSS files a viewer downloads hold exactly the filtered list, and the RSS
    descriptions are the feed's summaries (the page keeps none in memory: read back)."""
    import csv
    import io
    from datetime import UTC, datetime, timedelta

    import feedparser

    from support.feeds import Item, rss
    from support.feedserver import FeedServer

    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    items = [
        Item("Pipeline talks resume in Beijing", now - timedelta(minutes=10),
             "https://wire.test/1", summary="Gas pipeline talks resumed on Tuesday."),
        Item("Joint naval drill ends early", now - timedelta(hours=2), "https://wire.test/2",
             summary="The drill ended a day early."),
        Item("Pipeline deal signed after long talks", now - timedelta(hours=5),
             "https://wire.test/3", summary="Both sides signed the pipeline deal."),
        Item("Grain deal extended for a year", now - timedelta(hours=9), "https://wire.test/4",
             summary="The grain deal runs to next autumn."),
    ]  # fmt: skip
    wanted = [items[0], items[2]]  # the keyword "pipeline", newest first
    with FeedServer() as feeds:
        feeds.route("/feed.xml", rss(items))
        env = one_feed_env(tmp_path, "Wire", feeds.url("/feed.xml"), now.isoformat())
        with app_server(env) as base:
            context = browser.new_context(viewport={"width": 1280, "height": 1100})
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            page = context.new_page()
            page.goto(base)
            wait_for_listed(page, len(items), timeout=30_000)
            box = page.get_by_placeholder(KEYWORD_BOX)
            box.fill("pipeline")
            box.press("Enter")
            wait_for_listed(page, len(wanted))
            page.get_by_text(f"Download the {len(wanted)} headlines in view").wait_for()

            with page.expect_download() as got:
                page.get_by_role("button", name="RSS").click()
            feed = feedparser.parse(Path(got.value.path()).read_bytes())
            assert [e.title for e in feed.entries] == [i.title for i in wanted]
            assert [e.summary for e in feed.entries] == [i.summary for i in wanted]
            assert got.value.suggested_filename == "t-20240918-0322.xml"

            with page.expect_download() as got:
                page.get_by_role("button", name="CSV").click()
            rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
            assert [(r["title"], r["link"]) for r in rows] == [(i.title, i.link) for i in wanted]
            context.close()


def test_an_empty_store_page_fills_itself_when_the_refresher_stores(
    browser, tmp_path: Path
) -> None:
    """A new store: the page says the refresher is fetching, and shows the headlines when
    they are stored, with no reload and no click."""
    from datetime import UTC, datetime, timedelta

    from support.feeds import Item, rss
    from support.feedserver import FeedServer
    from ui.freshness import FIRST_TIME

    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    body = rss([Item("First headline ever", now - timedelta(minutes=3))])
    release = threading.Event()

    def answer_when_released(handler) -> None:
        release.wait(60)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with FeedServer() as feeds:
        feeds.route_handler("/feed.xml", answer_when_released)
        env = one_feed_env(tmp_path, "Wire", feeds.url("/feed.xml"), now.isoformat())
        with app_server(env) as base:
            context = browser.new_context()
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            page = context.new_page()
            page.goto(base)
            page.get_by_text(FIRST_TIME).wait_for(timeout=30_000)
            release.set()
            page.get_by_role("link", name="First headline ever").wait_for(timeout=30_000)
            assert page.get_by_text(FIRST_TIME).count() == 0
            context.close()
        assert feeds.hits("/feed.xml") == 1
