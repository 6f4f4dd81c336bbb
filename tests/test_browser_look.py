"""The page as a viewer first sees it, in chromium at 1280×900 and on a 390×844 phone, on
realistic local feeds (tests/realistic.py): headlines on the first screen, a consent bar
that does not push the page down and goes once the viewer continues, one time per story
row, the chart, the Sources page's table, and no serious or critical axe-core finding on
any page; and the README's screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.servers import ROOT
from tests.realistic import BROKEN, STORY, STORY_REPORTS, realistic_app
from tests.test_browser import LISTED, SIZES, sized_context

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts"
BAR = ".st-key-consent-notice"
FIRST_ROW = f"{LISTED} > a"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One realistic app for the module, its feeds stored (the page fills by itself)."""
    with realistic_app(tmp_path_factory.mktemp("look")) as base:
        yield base


def open_page(browser, base: str, size: str, path: str = "", notice: bool = True):
    """A new context at `size` on `base`/`path`, with the consent notice showing when
    `notice` (else the cookie is set, as after OK); the page, once its content is drawn."""
    context = sized_context(browser, base, size, agreed=not notice)
    page = context.new_page()
    page.goto(f"{base}/{path}")
    if path:
        page.locator("h1").first.wait_for(timeout=60_000)
    else:
        page.locator(FIRST_ROW).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1200)  # the chart and the status lines settle
    return page


def box(page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


@pytest.mark.parametrize("size", SIZES)
def test_the_first_headline_is_on_the_first_screen(browser, app: str, size: str) -> None:
    width, height = SIZES[size]
    page = open_page(browser, app, size)
    # The notice is a bar at the bottom, over the page: the title stays near the top.
    bar = box(page, BAR)
    assert abs(bar["y"] + bar["height"] - height) <= 1 and bar["width"] >= width - 1
    assert bar["height"] <= 90, bar
    assert box(page, "h1")["y"] < 90  # no empty band above the title
    # The first headline shows above the bar, before the viewer has agreed to anything.
    page.locator(FIRST_ROW).first.wait_for(timeout=60_000)
    first = box(page, FIRST_ROW)
    assert first["y"] + first["height"] <= bar["y"], (first, bar)
    words = page.locator(".st-key-consent-words [data-testid=stMarkdownContainer]:visible")
    assert words.count() == 1  # one wording of the notice, for the screen's width
    expected = "news_last_visit" if size == "desktop" else "Two cookies"
    assert expected in words.inner_text()
    page.get_by_role("button", name="OK").click()
    page.locator(BAR).wait_for(state="detached", timeout=15_000)
    page.wait_for_timeout(500)
    assert page.evaluate("window.scrollY") == 0
    first = box(page, FIRST_ROW)
    assert first["y"] + first["height"] <= height, first
    page.context.close()


def test_continuing_counts_as_agreeing(browser, app: str) -> None:
    # Using a filter: the bar goes at once, and stays gone on reload.
    page = open_page(browser, app, "desktop")
    assert page.locator(BAR).is_visible()
    box_ = page.get_by_placeholder('e.g. trade OR "gas pipeline"')
    box_.fill("bridge")
    box_.press("Enter")
    page.locator(BAR).wait_for(state="hidden", timeout=15_000)
    assert re.search(r"news_consent=[A-Za-z0-9_-]{22}", page.evaluate("document.cookie"))
    page.reload()
    page.locator(FIRST_ROW).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    assert page.locator(BAR).count() == 0
    page.context.close()
    # Opening another page: the server sees it, and the cookie is written.
    page = open_page(browser, app, "desktop")
    page.reload()  # a reload is not continuing: the bar is still there
    page.locator(FIRST_ROW).first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    assert page.locator(BAR).is_visible()
    page.get_by_role("link", name="About", exact=True).click()
    page.get_by_text("Cookies and privacy").wait_for(timeout=30_000)
    page.wait_for_function("/news_consent=[A-Za-z0-9_-]{22}/.test(document.cookie)", timeout=15_000)
    assert page.locator(BAR).count() == 0
    page.context.close()


def test_a_reading_is_not_agreeing(browser, app: str) -> None:
    """Scrolling and clicking on text is reading, not continuing: the bar stays."""
    page = open_page(browser, app, "desktop")
    page.mouse.wheel(0, 600)
    page.locator("h1").first.click()
    page.wait_for_timeout(800)
    assert page.locator(BAR).is_visible()
    assert "news_consent" not in page.evaluate("document.cookie")
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_a_story_row_shows_the_time_that_places_it(browser, app: str, size: str) -> None:
    page = open_page(browser, app, size, notice=False)
    newest = STORY_REPORTS[-1][0]
    first_pub = STORY_REPORTS[0][0]
    row = page.locator(f"{LISTED}:has(> a:text('{STORY}'))")
    assert row.count() == 1
    # The bucket it is in is the newest report's (10 minutes old), and so is its one time.
    bucket = row.locator("xpath=ancestor::div[contains(@class,'np-bucket')]/h3").inner_text()
    assert bucket == "In the last half-hour"
    assert row.locator("> .np-meta .np-pub").inner_text() == newest
    assert row.locator("> .np-meta time").inner_text() == "04:12 18-Sep-24"
    assert row.locator("> .np-first").inner_text() == (
        f"first reported by {first_pub} at 23:22 17-Sep"
    )
    # The list's times never go up: each row is placed by the time it shows.
    stamps = page.locator(f"{LISTED} > .np-meta time").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))"
    )
    assert stamps == sorted(stamps, reverse=True)
    page.context.close()


def test_an_opened_story_stays_open_when_a_filter_reruns_the_page(browser, app: str) -> None:
    page = open_page(browser, app, "desktop", notice=False)
    row = f"{LISTED}:has(> a:text('{STORY}'))"
    page.locator(f"{row} details.np-more summary").click()
    assert page.locator(f"{row} details.np-more").evaluate("d => d.open")
    # Times in UTC: the same stories, the whole list drawn again.
    page.get_by_test_id("stSidebar").get_by_text("UTC", exact=True).click()
    playwright_api.expect(page.locator(f"{row} > .np-meta time")).to_have_text(
        "03:12 18-Sep-24", timeout=15_000
    )
    assert page.locator(f"{row} details.np-more").evaluate("d => d.open"), "closed by a rerun"
    # A keyword that keeps the story: still open.
    keyword = page.get_by_placeholder('e.g. trade OR "gas pipeline"')
    keyword.fill("bridge")
    keyword.press("Enter")
    page.wait_for_function(
        "sel => document.querySelectorAll(sel).length < 20", arg=LISTED, timeout=15_000
    )
    assert page.locator(f"{row} details.np-more").evaluate("d => d.open"), "closed by a rerun"
    page.context.close()


def test_sources_lists_failing_feeds_first_and_fits_the_screen(browser, app: str) -> None:
    page = open_page(browser, app, "desktop", "sources", notice=False)
    grid = page.locator(".st-key-np-sources-table")
    cells = grid.locator('[role="gridcell"]')
    cells.filter(has_text=BROKEN).first.wait_for(state="attached", timeout=30_000)
    first = grid.locator('[role="gridcell"][aria-colindex="1"]').first.inner_text()
    assert first == BROKEN
    # The columns that say what is wrong come first, and their widths (pages/sources.py:
    # 170, 230, 60 and 420 px) fit in the table as drawn at 1280 px.
    headers = grid.locator('[role="columnheader"]').all_inner_texts()
    assert [h.strip() for h in headers[:4]] == ["Source", "Status", "HTTP", "What to do"]
    drawn = box(page, ".st-key-np-sources-table [data-testid='stDataFrame']")
    assert drawn["x"] + 170 + 230 + 60 + 420 <= min(drawn["x"] + drawn["width"], 1280)
    assert page.get_by_text("The feed moved or is gone").first.is_visible()  # in words
    assert not page.locator("ul.np-sources").is_visible()
    page.context.close()
    # A phone: one card a source, the failing one first, no squeezed table.
    page = open_page(browser, app, "phone", "sources", notice=False)
    cards = page.locator("ul.np-sources > li")
    cards.first.wait_for(timeout=30_000)
    assert cards.first.locator("h2").inner_text() == BROKEN
    assert cards.count() == 6
    assert not page.locator(".st-key-np-sources-table").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    page.context.close()


CHART = ".vega-embed"
# The chart's layers in drawing order (ui/chart.py): the range in force first, then bars.
SHADE = f"{CHART} g.mark-rect.layer_0_marks path"


def shade_box(page) -> dict[str, float] | None:
    """The drawn box of the range in force, None when nothing is shaded."""
    page.locator(f"{CHART} svg").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    if not page.locator(SHADE).count():
        return None
    return page.locator(SHADE).first.bounding_box()


# The active-filter chip of the range (ui/chips.py); Streamlit also draws a hidden copy of a
# button sized to its content, hence :visible.
RANGE_CHIP = ".st-key-chip-range button:visible"


@pytest.mark.parametrize("size", SIZES)
def test_a_range_from_a_link_is_shaded_on_the_chart(browser, app: str, size: str) -> None:
    link = "?from=2024-09-16T05:00:00Z&to=2024-09-16T11:00:00Z"
    page = open_page(browser, app, size, link, notice=False)
    page.locator(RANGE_CHIP).wait_for(timeout=30_000)
    shaded = shade_box(page)
    assert shaded and shaded["width"] > 2 and shaded["height"] > 20, shaded
    chart = box(page, f"{CHART} svg")
    assert (
        chart["x"] <= shaded["x"] and shaded["x"] + shaded["width"] <= chart["x"] + chart["width"]
    )
    page.locator(RANGE_CHIP).click()  # the chip removes the range
    page.locator(RANGE_CHIP).wait_for(state="detached", timeout=15_000)
    assert shade_box(page) is None
    page.context.close()


def test_a_drag_lists_whole_slots(browser, app: str) -> None:
    from datetime import datetime
    from urllib.parse import parse_qs, urlsplit

    page = open_page(browser, app, "desktop", notice=False)
    bars = f'{CHART} g.mark-rect path[aria-label*="Slot:"]'
    page.locator(bars).first.wait_for(timeout=30_000)
    plot = page.locator(f"{CHART} svg").first.bounding_box()
    assert plot
    tops = page.locator(bars).evaluate_all("ps => ps.map(p => p.getBoundingClientRect().bottom)")
    y = max(tops) - 2  # just above the axis: inside every bar's slot
    # From a third of the way to a half: anywhere inside two slots, not on their edges.
    left, right = plot["x"] + plot["width"] * 0.37, plot["x"] + plot["width"] * 0.53
    page.mouse.move(left, y)
    page.mouse.down()
    page.mouse.move((left + right) / 2, y, steps=5)
    page.mouse.move(right, y, steps=5)
    page.mouse.up()
    page.locator(RANGE_CHIP).wait_for(timeout=15_000)
    page.wait_for_function("location.search.includes('from=')", timeout=15_000)
    params = parse_qs(urlsplit(page.url).query)
    for bound in (params["from"][0], params["to"][0]):
        moment = datetime.fromisoformat(bound.replace("Z", "+00:00"))
        # Slots are six hours of London time (BST: UTC+1): their edges are 05, 11, 17, 23 UTC.
        assert (moment.hour % 6, moment.minute, moment.second) == (5, 0, 0), bound
    page.context.close()


def test_no_match_draws_no_empty_axes(browser, app: str) -> None:
    from ui.explore import NO_MATCH

    page = open_page(browser, app, "desktop", "?q=zzyzx", notice=False)
    page.get_by_text(NO_MATCH).wait_for(timeout=30_000)
    assert page.locator(CHART).count() == 0
    page.context.close()


def test_legend_and_axis_labels_fit_on_a_phone(browser, app: str) -> None:
    page = open_page(browser, app, "phone", notice=False)
    page.locator(f"{CHART} svg").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    frame = box(page, f"{CHART}")
    # Every label drawn (Vega hides a label that would not fit with opacity 0).
    labels = page.locator(f"{CHART} g.role-legend text, {CHART} g.role-axis-label text")
    drawn = labels.evaluate_all(
        """els => els.filter(e => e.getAttribute("opacity") !== "0").map(e => {
          const b = e.getBoundingClientRect();
          return [e.textContent, b.left, b.right];
        })"""
    )
    assert len(drawn) > 8
    names = {text for text, _, _ in drawn}
    assert {"Other", "Analysis"} <= names, names
    right = min(frame["x"] + frame["width"], 390)
    outside = [text for text, left, end in drawn if left < frame["x"] - 1 or end > right + 1]
    assert outside == []
    page.context.close()


def test_the_opml_uploader_says_the_real_limit(browser, app: str) -> None:
    page = open_page(browser, app, "desktop", notice=False)
    page.get_by_test_id("stSidebar").get_by_text("Your feeds").click()
    uploader = page.get_by_test_id("stFileUploaderDropzone")
    uploader.wait_for(timeout=15_000)
    said = uploader.inner_text()
    assert "1MB per file" in said and "200MB" not in said, said
    page.context.close()


def test_the_rss_download_links_back_to_this_app(browser, app: str) -> None:
    import feedparser

    page = open_page(browser, app, "desktop", notice=False)
    page.get_by_text("Download the").first.scroll_into_view_if_needed()
    with page.expect_download() as got:
        page.get_by_role("button", name="RSS").click()
    feed = feedparser.parse(Path(got.value.path()).read_bytes())
    assert feed.feed.link == f"{app}/", feed.feed.link  # not example.invalid
    page.context.close()


AXE_IGNORED = ()  # rules checked by hand elsewhere: none


def serious_findings(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in ("serious", "critical") and violation["id"] not in AXE_IGNORED:
            targets = [node["target"] for node in violation["nodes"]][:5]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("notice", [True, False], ids=["notice", "after-ok"])
@pytest.mark.parametrize("path", ["", "sources", "about"], ids=["headlines", "sources", "about"])
def test_no_serious_accessibility_finding(
    browser, app: str, size: str, notice: bool, path: str
) -> None:
    page = open_page(browser, app, size, path, notice)
    if path == "sources":
        page.get_by_text(BROKEN).first.wait_for(state="attached", timeout=30_000)
    assert serious_findings(page) == []
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_readme_screenshots(browser, app: str, size: str) -> None:
    width, _ = SIZES[size]
    page = open_page(browser, app, size)
    page.get_by_role("button", name="OK").click()
    page.locator(BAR).wait_for(state="detached", timeout=15_000)
    page.wait_for_timeout(800)
    page.mouse.move(1, 1)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"readme-{width}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    page.context.close()
