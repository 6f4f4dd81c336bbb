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
