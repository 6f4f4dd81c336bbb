"""The view's state in a real browser, on a desktop (1280x900) and a phone (390x844): Back
and Forward restore the view their URL points at, a topic switch drops the old topic's
filters and says so, the active filters show as chips with their removes and "Clear all",
tab titles name the page and the topic, and a viewer's own feeds survive a reload."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.servers import app_server
from tests.test_browser import (
    ARTIFACTS,
    KEYWORD_BOX,
    LISTED,
    SIZES,
    listed_titles,
    sized_context,
    wait_for_listed,
)

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser
expect = playwright_api.expect

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
# Topic "east" has two publications, "west" one of its own.
EAST_A = ["Gas pipeline deal signed", "Navies drill together", "Summit date set"]
EAST_B = ["Pipeline talks resume in Beijing", "Rail link opens"]
WEST = ["Harbour strike ends", "Election date announced"]
LONG_NAME = "The Extraordinarily Long Name of a Regional Wire Service With Many Words"


def items(titles: list[str], hours: int) -> list[Item]:
    return [Item(title, NOW - timedelta(hours=hours + n)) for n, title in enumerate(titles)]


def topics_file(path: Path, feeds: FeedServer) -> None:
    def source(name: str, route: str) -> str:
        return f'[[topic.source]]\nname = "{name}"\nurl = "{feeds.url(route)}"\ntopical = true\n'

    def topic(slug: str, title: str) -> str:
        return (f'[[topic]]\nslug = "{slug}"\ntitle = "{title}"\nabout = "x"\nquery = "x"\n'
                'timezone = "UTC"\n')  # fmt: skip

    path.write_text(
        topic("east", "East news")
        + source("Wire A", "/a.xml")
        + source(LONG_NAME, "/b.xml")
        + topic("west", "West news")
        + source("Wire W", "/w.xml")
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FeedServer]]:
    """The app on two topics of local feeds (the refresher fills the store at start), and
    the feed server (a viewer's own feeds are served from it too)."""
    folder = tmp_path_factory.mktemp("state")
    with FeedServer() as feeds:
        feeds.route("/a.xml", rss(items(EAST_A, 1), title="Wire A"))
        feeds.route("/b.xml", rss(items(EAST_B, 2), title="Wire B"))
        feeds.route("/w.xml", rss(items(WEST, 1), title="Wire W"))
        feeds.route("/mine.xml", rss(items(["My own x item"], 3), title="My Own Wire"))
        feeds.route("/yours.xml", rss([], title="Your Wire"))
        topics_file(folder / "topics.toml", feeds)
        env = {
            "NEWS_TOPICS": str(folder / "topics.toml"),
            "NEWS_DB": str(folder / "news.db"),
            "NEWS_CLOCK": NOW.isoformat(),
            "NEWS_ALLOW_PRIVATE_HOSTS": "1",  # the viewer's feeds are on 127.0.0.1 too
        }
        with app_server(env) as base:
            yield base, feeds


def open_page(browser, base: str, size: str, path: str = "", agreed: bool = True):
    context = sized_context(browser, base, size, agreed=agreed)
    page = context.new_page()
    page.goto(base + path)
    return context, page


def sidebar(page):
    """The sidebar, opened first where it starts closed (a phone)."""
    bar = page.get_by_test_id("stSidebar")
    opener = page.get_by_test_id("stExpandSidebarButton")
    if opener.is_visible():
        opener.click()
    expect(bar.get_by_text("Publication filters")).to_be_in_viewport(timeout=15_000)
    # Until it has slid in whole: a tap on a select box while it moves opens nothing.
    page.wait_for_function(
        "document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().x >= 0"
    )
    return bar


def close_sidebar(page) -> None:
    """On a phone the sidebar covers the page: close it to see the main area."""
    if page.viewport_size["width"] < 640:
        closer = page.get_by_test_id("stSidebarCollapseButton")
        if closer.is_visible():
            closer.click()


def chip(page, key: str, *, button: bool = True):
    """The chip `key`, or its button (Streamlit draws a hidden copy of a button sized to its
    content, to measure it: the first is the one shown)."""
    found = page.locator(f".st-key-chip-{key}")
    return found.locator("button:visible").first if button else found


def expect_chip(page, key: str, text: str) -> None:
    """Until the chip `key` says `text` (without the word joiners `literal_markdown` puts in
    so that no label is read as Markdown)."""
    page.wait_for_function(
        """([key, text]) => [...document.querySelectorAll(`.st-key-chip-${key} button`)]
            .some((b) => b.textContent.replaceAll("\u2060", "").includes(text))""",
        arg=[key, text],
        timeout=15_000,
    )


def params(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def wait_for_url(page, test: str) -> None:
    page.wait_for_function(test, timeout=15_000)


def type_keyword(page, text: str) -> None:
    box = sidebar(page).get_by_placeholder(KEYWORD_BOX)
    box.fill(text)
    box.press("Enter")


@pytest.mark.parametrize("size", list(SIZES))
def test_back_and_forward_restore_the_view(browser, site, size: str) -> None:
    base, _ = site
    context, page = open_page(browser, base, size)
    wait_for_listed(page, len(EAST_A + EAST_B), timeout=60_000)
    type_keyword(page, "pipeline")
    wait_for_listed(page, 2)
    wait_for_url(page, "location.search.includes('q=pipeline')")
    sidebar(page).get_by_text("Group copies of a story").click()  # the grouping, in the link
    wait_for_url(page, "location.search.includes('group=off')")
    close_sidebar(page)
    expect(chip(page, "group")).to_be_visible()

    page.go_back()  # grouping on again, the keyword kept
    wait_for_url(page, "!location.search.includes('group=off')")
    expect(chip(page, "group", button=False)).to_have_count(0, timeout=15_000)
    assert params(page) == {"q": ["pipeline"]}
    wait_for_listed(page, 2)
    page.go_back()  # the whole list, the box empty
    wait_for_url(page, "location.search === ''")
    wait_for_listed(page, len(EAST_A + EAST_B))
    expect(chip(page, "keyword", button=False)).to_have_count(0, timeout=15_000)
    expect(sidebar(page).get_by_placeholder(KEYWORD_BOX)).to_have_value("", timeout=15_000)
    close_sidebar(page)
    page.go_forward()  # the keyword again: in the list, the box and the chips
    wait_for_url(page, "location.search.includes('q=pipeline')")
    wait_for_listed(page, 2)
    assert sorted(listed_titles(page)) == sorted([EAST_A[0], EAST_B[0]])
    expect_chip(page, "keyword", "Keyword: pipeline")
    expect(sidebar(page).get_by_placeholder(KEYWORD_BOX)).to_have_value("pipeline")
    # The page did not write a history entry of its own meanwhile: Forward still leads on.
    close_sidebar(page)
    page.go_forward()
    wait_for_url(page, "location.search.includes('group=off')")
    expect(chip(page, "group")).to_be_visible(timeout=15_000)
    context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_topic_switch_drops_the_old_topics_filters_and_titles_follow(
    browser, site, size: str
) -> None:
    base, _ = site
    context, page = open_page(browser, base, size, f"?q=rail&pub_mode=except&pubs={LONG_NAME}")
    # Nothing listed is also what a page still loading shows: wait for the run's answer.
    page.get_by_text("Sorry, no headlines").wait_for(timeout=60_000)
    wait_for_listed(page, 0)
    expect(page).to_have_title("East news", timeout=15_000)
    bar = sidebar(page)
    # "All but the selected": its chips are struck out, not like "Only the selected" ones.
    tag = bar.locator(".st-key-pubs [data-tag] > span").first
    expect(tag).to_have_css("text-decoration-line", "line-through")
    bar.get_by_role("combobox", name="Topic").click()
    page.get_by_role("option", name="West news").click()
    said = "Topic switched, so the keyword “rail” and"
    note = page.get_by_test_id("stCaptionContainer").filter(has_text=said)
    note.wait_for(timeout=15_000)
    assert f"the publication filter's {LONG_NAME} (not in this topic) were" in note.inner_text()
    # Said where it is seen with the sidebar still open too (a phone's sidebar covers the page).
    expect(page.get_by_test_id("stToast").filter(has_text=said)).to_be_in_viewport()
    wait_for_url(page, "location.search === '?topic=west'")
    wait_for_listed(page, len(WEST))
    expect(page).to_have_title("West news")
    expect(page.locator("[class*='st-key-chip-']")).to_have_count(0)
    close_sidebar(page)
    page.screenshot(path=str(ARTIFACTS / f"topic-switch-{size}.png"))
    # Back brings the old topic's view, filters and all (the link rules, nothing is dropped).
    page.go_back()
    wait_for_url(page, "location.search.includes('q=rail')")
    expect(page).to_have_title("East news", timeout=15_000)
    expect_chip(page, "keyword", "Keyword: rail")
    expect_chip(page, "pubs", "Hiding: ")
    page.goto(f"{base}/sources?topic=west")
    expect(page).to_have_title("Sources - West news", timeout=30_000)
    page.goto(f"{base}/about?topic=east")
    expect(page).to_have_title("About - East news", timeout=30_000)
    context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_active_filters_show_as_chips_that_remove_them(browser, site, size: str) -> None:
    base, _ = site
    start, end = "2024-09-18T00:00:00Z", "2024-09-18T03:00:00Z"
    view = f"?q=pipeline&tz=utc&group=off&from={start}&to={end}&pub_mode=only&pubs=Wire+A"
    context, page = open_page(browser, base, size, view)
    wait_for_listed(page, 1, timeout=60_000)
    chips = page.locator(".st-key-active-filters")
    expect(chips).to_be_in_viewport(timeout=15_000)
    expected = {
        "keyword": "Keyword: pipeline",
        "pubs": "Only: Wire A",
        "range": "1 headline from 00:00 18 Sep 2024 to 03:00 18 Sep 2024",
        "zone": "Times in UTC",
        "group": "Copies of a story listed apart",
    }
    for key, text in expected.items():
        expect_chip(page, key, text)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"chips-{size}.png"))
    chip(page, "keyword").click()  # one chip: only that filter goes
    wait_for_url(page, "!location.search.includes('q=')")
    expect(chip(page, "keyword", button=False)).to_have_count(0)
    assert params(page)["tz"] == ["utc"] and params(page)["pubs"] == ["Wire A"]
    chip(page, "clear-all").click()
    wait_for_url(page, "location.search === ''")
    expect(chips).to_have_count(0)
    wait_for_listed(page, len(EAST_A + EAST_B))
    # The zone and grouping are drawn outside the view's fragment: clearing them reruns the
    # whole page, so the sidebar's own widgets say so too.
    bar = sidebar(page)
    expect(bar.get_by_role("radio", name="Topic default (UTC)")).to_be_checked()
    expect(bar.get_by_role("switch", name="Group copies of a story")).to_be_checked()
    close_sidebar(page)
    # A keyword with a syntax error is shown as not used, with the reason; its help is there.
    type_keyword(page, "(pipeline")
    close_sidebar(page)
    expect_chip(page, "keyword", "Keyword not used: “(pipeline”")
    wait_for_listed(page, len(EAST_A + EAST_B))
    help_icon = sidebar(page).get_by_test_id("stHeading").filter(has_text="Keyword")
    help_icon.get_by_test_id("stTooltipIcon").hover()
    expect(page.get_by_text("Words match whole words")).to_be_visible(timeout=15_000)
    context.close()


def test_publication_filter_edges(browser, site) -> None:
    base, _ = site
    context, page = open_page(browser, base, "desktop", f"?pub_mode=only&pubs={LONG_NAME}")
    wait_for_listed(page, len(EAST_B), timeout=60_000)
    bar = sidebar(page)
    # Back to "All publications": the choice goes from the box and from the link.
    bar.get_by_text("All publications").click()
    wait_for_url(page, "location.search === ''")
    wait_for_listed(page, len(EAST_A + EAST_B))
    expect(bar.locator(".st-key-pubs [data-tag]")).to_have_count(0)
    # "Only the selected" with nothing chosen: every headline, and the page says so.
    bar.get_by_text("Only the selected").click()
    expect(bar.get_by_text("None chosen yet: every publication is shown.")).to_be_visible()
    wait_for_listed(page, len(EAST_A + EAST_B))
    # A long name is shown whole in the dropdown (wrapped, not cut).
    bar.locator(".st-key-pubs input").click()
    option = page.get_by_role("option", name=f"{LONG_NAME} (2)")
    option.wait_for(timeout=15_000)
    text = option.locator("div").first
    # The whole name is drawn inside the dropdown, which stays on the screen.
    assert text.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the name is cut"
    box = page.get_by_test_id("stMultiSelectDropdown").bounding_box()
    text_box = text.bounding_box()
    assert box and text_box and text_box["x"] + text_box["width"] <= box["x"] + box["width"]
    assert box["x"] + box["width"] <= page.viewport_size["width"]
    page.screenshot(path=str(ARTIFACTS / "publication-dropdown.png"))
    context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_own_feeds_survive_a_reload_and_are_removed(browser, site, size: str) -> None:
    base, feeds = site
    context, page = open_page(browser, base, size, agreed=False)
    wait_for_listed(page, len(EAST_A + EAST_B), timeout=60_000)
    bar = sidebar(page)
    bar.get_by_text("Your feeds (0 of 5)").click()
    bar.get_by_placeholder("https://example.com/rss.xml").fill(feeds.url("/mine.xml"))
    bar.get_by_role("button", name="Add feed").click()
    # Listed at once, by the feed's title once fetched (never its raw address).
    expect(bar.get_by_text("My Own Wire — ok")).to_be_visible(timeout=30_000)
    assert bar.get_by_text(feeds.url("/mine.xml"), exact=True).count() == 0
    # An OPML import is listed at once too, without another click.
    opml = f'<opml version="2.0"><body><outline text="Yours" xmlUrl="{feeds.url("/yours.xml")}"/>'
    bar.locator("input[type=file]").set_input_files(
        files=[
            {"name": "f.opml", "mimeType": "text/xml", "buffer": f"{opml}</body></opml>".encode()}
        ]
    )
    expect(bar.get_by_text("Added 1 of 1 feeds.")).to_be_visible(timeout=30_000)
    expect(bar.get_by_text("Your feeds (2 of 5)")).to_be_visible()
    expect(bar.get_by_text("Yours", exact=False).first).to_be_visible()
    page.wait_for_function(
        "document.cookie.match(/news_consent=[A-Za-z0-9_-]{22}/)", timeout=15_000
    )

    page.reload()
    bar = sidebar(page)
    expect(bar.get_by_text("Your feeds (2 of 5)")).to_be_visible(timeout=60_000)
    expect(bar.get_by_text("My Own Wire")).to_be_visible(timeout=30_000)
    close_sidebar(page)
    page.get_by_role("link", name="My own x item").wait_for(timeout=30_000)
    bar = sidebar(page)
    # The remove control is a visible icon with a name, not an empty box.
    remove = bar.locator("[class*='st-key-remove-'] button:visible").first
    icon = remove.locator("[data-testid='stIconMaterial']")
    expect(icon).to_be_visible()
    box = icon.bounding_box()
    assert box and box["width"] >= 12 and box["height"] >= 12
    remove.scroll_into_view_if_needed()
    bar.get_by_test_id("stExpander").screenshot(path=str(ARTIFACTS / f"own-feeds-{size}.png"))
    remove.click()
    expect(bar.get_by_text("Your feeds (1 of 5)")).to_be_visible(timeout=15_000)
    page.reload()
    bar = sidebar(page)
    expect(bar.get_by_text("Your feeds (1 of 5)")).to_be_visible(timeout=60_000)
    assert bar.get_by_text("My Own Wire").count() == 0
    # Another browser does not have them.
    other, elsewhere = open_page(browser, base, size)
    wait_for_listed(elsewhere, len(EAST_A + EAST_B), timeout=60_000)
    expect(sidebar(elsewhere).get_by_text("Your feeds (0 of 5)")).to_be_visible(timeout=60_000)
    other.close()
    context.close()


def test_the_range_survives_a_trip_to_sources(browser, site) -> None:
    base, _ = site
    start, end = "2024-09-18T00:00:00Z", "2024-09-18T02:00:00Z"
    context, page = open_page(browser, base, "desktop", f"?from={start}&to={end}")
    listed = 4  # of the 5: those published from 00:00 to 02:00
    wait_for_listed(page, listed, timeout=60_000)
    expect(chip(page, "range")).to_be_visible()
    page.get_by_role("link", name="Sources").click()
    expect(page).to_have_title("Sources - East news", timeout=30_000)
    page.get_by_role("link", name="Headlines").click()
    wait_for_listed(page, listed, timeout=30_000)
    expect(chip(page, "range")).to_be_visible()
    wait_for_url(page, "location.search.includes('from=')")
    wait_for_listed(page, listed)
    assert page.locator(LISTED).count() == listed
    context.close()


def test_a_filter_change_reruns_only_the_view(browser, site) -> None:
    """A keyword, a publication filter or a chart range reruns the Headlines page's view
    fragment: the browser is sent the view again, not the clock, your feeds or the other
    widgets (a whole page is about twice as many elements to draw)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: TID251 - its wire protocol

    base, _ = site
    context, page = open_page(browser, base, "desktop")
    wait_for_listed(page, len(EAST_A + EAST_B), timeout=60_000)
    frames: list[bytes] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(frame)))
    page.reload()  # the listener sees the page's own socket from its start
    wait_for_listed(page, len(EAST_A + EAST_B), timeout=60_000)

    def sent() -> tuple[list[str], list[int]]:
        kinds, finished = [], []
        for raw in frames:
            if isinstance(raw, bytes):
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                if msg.WhichOneof("type") == "delta" and msg.delta.HasField("new_element"):
                    kinds.append(msg.delta.new_element.WhichOneof("type"))
                if msg.WhichOneof("type") == "script_finished":
                    finished.append(msg.script_finished)
        frames.clear()
        return kinds, finished

    whole, _ = sent()
    assert {"file_uploader", "text_input", "vega_lite_chart", "checkbox"} <= set(whole)
    type_keyword(page, "pipeline")
    wait_for_listed(page, 2)
    page.wait_for_function(
        "document.querySelector('[data-testid=stApp]')"
        ".getAttribute('data-test-script-state') === 'notRunning'"
    )
    kinds, finished = sent()
    assert finished == [ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY]
    assert "vega_lite_chart" in kinds and "text_input" in kinds  # the view, box included
    assert "file_uploader" not in kinds and "checkbox" not in kinds  # your feeds, grouping
    assert len(kinds) < len(whole) * 0.75
    context.close()
