"""A real browser (Debian's chromium via Playwright) against the real app server, offline."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, app_server

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


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make test`, which installs it")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


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
        page.wait_for_function("document.cookie.includes('news_consent=1')", timeout=15_000)
        page.reload()
        page.get_by_text(SEED_TITLES[0]).wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        assert page.get_by_text(NOTICE).count() == 0
        page.screenshot(path=str(ARTIFACTS / "offline.png"), full_page=True)
        # The page loads nothing from anywhere but the app itself.
        assert external == []
        context.close()
    shutil.copy(ARTIFACTS / "offline.png", ARTIFACTS / "readme-screenshot.png")


HOSTILE = [
    ("<script>alert('title')</script> Summit", "javascript:alert('link')"),
    ('<img src="https://evil.test/pixel.png" onerror="alert(1)"> Talks', "https://ok.test/1"),
    ("![tracker](https://evil.test/md.png) Markdown", "data:text/html,<script>alert(2)</script>"),
    ("[click me](javascript:alert(3)) and $x^2$ and :red[red] **bold**", "https://ok.test/2"),
    ('<style>body { display: none }</style> Style', "vbscript:msgbox(4)"),
    ('"><svg onload=alert(5)> Quote breakout', 'https://ok.test/3" onmouseover="alert(6)'),
]  # fmt: skip


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
    from tests.feedserver import FeedServer

    with FeedServer() as feeds:
        feeds.route("/hostile.xml", hostile_feed())
        topics = tmp_path / "topics.toml"
        topics.write_text(
            '[[topic]]\nslug = "t"\ntitle = "Hostile test"\nabout = "x"\nquery = "x"\n'
            'timezone = "UTC"\n[[topic.source]]\nname = "Hostile"\n'
            f'url = "{feeds.url("/hostile.xml")}"\ntopical = true\n'
        )
        env = {
            "NEWS_TOPICS": str(topics),
            "NEWS_DB": str(tmp_path / "news.db"),
            "NEWS_CLOCK": "2024-09-18T03:22:00Z",
        }
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
            # The only scripts are the page's own cookie writers, never feed text.
            scripts = page.eval_on_selector_all("main script", "s => s.map(e => e.textContent)")
            assert all(text.startswith("document.cookie = 'news_") for text in scripts), scripts
            # The injected <style> did not restyle the page.
            assert page.evaluate("getComputedStyle(document.body).display") != "none"
            assert page.get_by_text("Quote breakout").is_visible()
            page.screenshot(path=str(ARTIFACTS / "hostile.png"), full_page=True)
            context.close()


def test_stored_headlines_stay_while_a_refresh_counts_sources(browser, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from lib.model import Headline
    from lib.store import Store
    from tests.feeds import Item, rss
    from tests.feedserver import FeedServer

    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    with FeedServer() as feeds:
        fast, slow = feeds.url("/fast.xml"), feeds.url("/slow.xml")
        feeds.route("/fast.xml", rss([Item("Fast feed story", now - timedelta(minutes=5))]))
        feeds.route("/slow.xml", rss([Item("Slow feed story", now - timedelta(minutes=2))]),
                    delay=4)  # fmt: skip
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
        env = {"NEWS_TOPICS": str(topics), "NEWS_DB": str(db), "NEWS_CLOCK": now.isoformat()}
        with app_server(env) as base:
            context = browser.new_context()
            context.add_cookies([{"name": "news_consent", "value": "1", "url": base}])
            page = context.new_page()
            page.goto(base)
            page.get_by_text("Refreshing: 1 of 2 sources done").wait_for(timeout=30_000)
            assert page.get_by_role("link", name="Stored earlier").is_visible()
            page.screenshot(path=str(ARTIFACTS / "refreshing.png"))
            page.get_by_role("link", name="Slow feed story").wait_for(timeout=30_000)
            assert page.get_by_text("Refreshing:").count() == 0
            assert page.get_by_role("link", name="Stored earlier").is_visible()
            context.close()
