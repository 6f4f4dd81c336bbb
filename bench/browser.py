"""Browser figures: the real app against the trivial Streamlit app, in one chromium.

For each store size the app is started on a store filled with that many headlines of its
one topical source (served by a local feed server that answers 304, so a refresh costs a
round trip), with the clock fixed. The trivial app runs throughout. Measurements are
interleaved, app then trivial app, so both share the machine's noise.

"Done" means the expected text is on the page and Streamlit is idle: the app root's
`data-test-script-state` is `notRunning` (the attribute Streamlit's own tests use).

Four interactions are timed at each full size, each against the trivial app in the same
run: a warm page open (against the trivial app's open; the same opens also give when the
newest headline was first drawn, against when the trivial app's output was), and three
reruns (each against the trivial app's rerun after its text box changed, the smallest
rerun Streamlit does): a new keyword, the publication filter flipped between "All
publications" and "All but the selected" (Bench Desk's 24 headlines), and "view more
headlines" listing the next 50.
For the reruns the page also records when the last WebSocket message of the rerun arrived,
which splits each time into the server's part (script run and transfer) and the browser's
(drawing after the last message).
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright

from bench.apps import APP, TRIVIAL_APP, rss_mb
from bench.units import ms
from lib.model import Headline
from lib.store import FeedSuccess, Store
from support.corpus import headlines, rss, stories
from support.feedserver import FeedServer
from support.servers import CHROMIUM, CHROMIUM_ARGS, Server, streamlit_server
from ui.consent import COOKIE

# Each typed keyword is new to the server (no cache hit); the first one is a warm-up.
KEYWORDS = (
    "pipeline", "summit", "sanctions", "yuan", "arctic", "oil", "navies", "bomber",
    "envoy", "trade", "grain", "tariffs", "floods", "election", "wildfires", "earthquake",
    "copper", "shipping", "lunar", "bridge", "drills", "patrol", "roubles", "tankers",
)  # fmt: skip
PUBLICATION = "Bench Desk"
TIMEOUT_MS = 180_000
ONLY, ALL_BUT = "Only the selected", "All but the selected"
MORE = re.compile(r"view more headlines \((\d+) more( stories)?\)")
PAGE_SIZE = 50  # ui.explore.PAGE_SIZE (bench does not import the app's ui)

# Every WebSocket message the page receives is timed (performance.now()), so a rerun can be
# split into the server's part (until its last message arrived) and the browser's.
_TIME_MESSAGES = """(() => {
  window.npMessages = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => window.npMessages.push(performance.now()));
    }
  };
})();"""

# True once the text `want` is on the page, `unwanted` is not, no script is running, no
# element is still a skeleton (an element whose code is still loading: Streamlit draws each
# kind's code on first use, and a new page's chart can still be one when the script is done)
# and every chart on the page has drawn itself (vega draws into a canvas, after its code has
# loaded).
_READY = """([want, unwanted]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  if (!charts.every((chart) => chart.querySelector('canvas, svg'))) return false;
  const text = document.body.textContent;
  if (!(text.includes(want) && !(unwanted && text.includes(unwanted)))) return false;
  window.npDone = performance.now();
  return true;
}"""


# As _READY, and on the first animation frame in which `want` is on the page (the frame that
# paints it) its time since navigation (the page's time origin) is kept in window.npSeen.
# Polled with _READY from navigation on, so the first frame with `want` is caught.
_SEEN = """
  if (window.npSeen === undefined && document.body && document.body.textContent.includes(want))
    window.npSeen = performance.now();"""
_OPENED = _READY.replace("=> {", "=> {" + _SEEN, 1)


def marker(keyword: str) -> str:
    """The newest headline matching `keyword`: first in the list when it is typed."""
    return f"Desk note {KEYWORDS.index(keyword) + 1}: {keyword} briefing from the newsroom"


def trivial_output(text: str) -> str:
    """What the trivial app writes for `text`."""
    return f"Output: {text or 'nothing yet'}."


def in_view(count: int) -> str:
    """The downloads' caption when `count` headlines are in view."""
    return f"Download the {count} headlines in view"


@dataclass(frozen=True, slots=True)
class BrowserSizes:
    """How big the browser benchmark is."""

    full: tuple[int, ...]  # stored sizes at which all four interactions are timed
    growth: tuple[int, ...]  # stored sizes for the growth of the keyword time
    repeats: int  # timed repetitions of each browser figure (the median is kept)


@dataclass(frozen=True, slots=True)
class Rerun:
    """One timed rerun: seconds until done, and until its last WebSocket message arrived."""

    seconds: float
    last_message: float


@dataclass
class SizeFigures:
    """Seconds (every repetition) and memory measured at one stored size; the reruns of the
    app with (under `server`) when their last message arrived."""

    size: int
    first_open: float = 0.0  # the first open, cache cold: information only
    typed: list[float] = field(default_factory=list)
    trivial_typed: list[float] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)
    trivial_opened: list[float] = field(default_factory=list)
    seen: list[float] = field(default_factory=list)  # navigation → newest headline drawn
    trivial_seen: list[float] = field(default_factory=list)  # → the trivial app's output
    picked: list[float] = field(default_factory=list)  # publication filter changed
    trivial_picked: list[float] = field(default_factory=list)
    more: list[float] = field(default_factory=list)  # "view more headlines"
    trivial_more: list[float] = field(default_factory=list)
    server: dict[str, list[float]] = field(default_factory=dict)  # by rerun: last message
    rss_mb: float = 0.0
    trivial_rss_mb: float = 0.0

    def note(self, kind: str, rerun: Rerun, into: list[float]) -> None:
        """Keep a rerun of the app's: its time in `into`, its server part under `kind`."""
        into.append(rerun.seconds)
        self.server.setdefault(kind, []).append(rerun.last_message)


@dataclass(frozen=True, slots=True)
class BrowserFigures:
    """Everything the browser part measured, by stored size."""

    by_size: dict[int, SizeFigures]
    full: tuple[int, ...]

    @staticmethod
    def median(values: Sequence[float]) -> float:
        """The median of the repetitions."""
        return statistics.median(values)


def _topics_file(path: Path, feed_url: str) -> None:
    path.write_text(
        '[[topic]]\nslug = "china-russia"\ntitle = "China-Russia news"\n'
        "query = '(china OR chinese OR beijing OR xi) AND (russia OR russian OR moscow OR putin)'\n"
        'timezone = "Europe/London"\nabout = "The benchmark\'s topic."\n'
        f'[[topic.source]]\nname = "Bench wire"\nurl = "{feed_url}"\ntopical = true\n'
    )


def fill_store(
    path: Path, count: int, now: datetime, feed_url: str, etag: str, modified: str
) -> None:
    """A store of `count` headlines of `feed_url` (markers included) whose feed state has the
    validators the feed server sends, so the app's refresh is a 304."""
    store = Store(path)
    markers = [
        Headline(
            title=marker(keyword),
            link=f"https://desk.example.com/notes/{number}",
            publication=PUBLICATION,
            label=None,
            published=now - timedelta(seconds=30 + number),
            source=feed_url,
            guid=f"urn:bench:marker-{number}",
        )
        for number, keyword in enumerate(KEYWORDS)
    ]
    store.save([*markers, *headlines(count - len(markers), now, feed_url)], now)
    wire = FeedSuccess(feed_url, "not modified", 304, 1.0, etag=etag, last_modified=modified,
                       feed_title="Bench wire", items=20)  # fmt: skip
    store.record_feeds([wire], now)
    if store.count() != count:
        raise RuntimeError(f"the store holds {store.count()} headlines, not {count}")


def _wait(page: Page, want: str, unwanted: str | None) -> None:
    page.wait_for_function(_READY, arg=[want, unwanted], polling="raf", timeout=TIMEOUT_MS)


@dataclass(frozen=True, slots=True)
class Opened:
    """A page opened: seconds from navigation until `want` was first drawn and until the
    page was done (`want` shown, the app idle, every chart drawn); and the page."""

    seen: float
    done: float
    page: Page


def open_timed(context: BrowserContext, url: str, want: str) -> Opened:
    """Open `url` in a new page of `context`: when `want` was first drawn, and when done."""
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_function(_OPENED, arg=[want, None], polling="raf", timeout=TIMEOUT_MS)
    done = time.perf_counter() - started
    return Opened(page.evaluate("() => window.npSeen") / 1000, done, page)


def open_page(context: BrowserContext, url: str, want: str) -> tuple[float, Page]:
    """Seconds from navigation until `want` is shown and the app is idle; and the page."""
    opened = open_timed(context, url, want)
    return opened.done, opened.page


def rerun(page: Page, act: Callable[[], None], want: str, unwanted: str | None) -> Rerun:
    """Time `act` (the click or key press that reruns the script) until `want` is shown,
    `unwanted` is not and the app is idle; and when its last WebSocket message arrived."""
    began = page.evaluate("() => { window.npMessages = []; return performance.now(); }")
    started = time.perf_counter()
    act()
    _wait(page, want, unwanted)
    seconds = time.perf_counter() - started
    done, messages = page.evaluate("() => [window.npDone, window.npMessages]")
    last = max((m for m in messages if m <= done), default=began)
    return Rerun(seconds, max(0.0, last - began) / 1000)


def type_keyword(page: Page, text: str, want: str, unwanted: str | None) -> Rerun:
    """Enter `text` in the keyword box: until `want` is shown and the app is idle."""
    box = page.locator('input[aria-label="Keyword"]')
    box.fill(text)
    return rerun(page, lambda: box.press("Enter"), want, unwanted)


def _clicker(locator: Locator) -> Callable[[], None]:
    """A click on what `locator` finds, found now, made in the page when called: one round
    trip, as the trivial app's key press. (Playwright's own click first waits for the
    element to stay still over two animation frames, about 35 ms counted to the app.)"""
    element = locator.element_handle(timeout=TIMEOUT_MS)
    return lambda: element.evaluate("(element) => element.click()")


def pick_mode(page: Page, mode: str, want: str, unwanted: str) -> Rerun:
    """Click the sidebar's publication filter `mode`: until `want` is shown."""
    choice = page.locator('[data-testid="stSidebar"]').get_by_text(mode, exact=True)
    return rerun(page, _clicker(choice), want, unwanted)


def view_more(page: Page) -> Rerun:
    """Click "view more headlines": until the button counts 50 fewer left."""
    button = page.get_by_role("button", name=MORE)
    found = MORE.search(button.inner_text())
    if found is None:
        raise RuntimeError("the view more button says no count")
    left = int(found.group(1))
    want = f"view more headlines ({left - PAGE_SIZE} more{found.group(2) or ''})"
    if left <= PAGE_SIZE:  # the last page: the button goes
        want = "Download the"
    return rerun(page, _clicker(button), want, found.group(0))


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True, slots=True)
class Wire:
    """The one topical feed every app of the benchmark reads, and its validators."""

    url: str
    etag: str
    modified: str
    topics: Path  # a topics file naming it


def serve_wire(feeds: FeedServer, now: datetime, folder: Path) -> Wire:
    """Route the benchmark's feed on `feeds` (it answers 304 to the stored validators)."""
    modified = format_datetime(now - timedelta(minutes=5), usegmt=True)
    etag = '"bench-app-1"'
    feeds.route(
        "/wire.xml",
        rss(
            "Bench wire",
            stories(20, now, random.Random(99), "wire", timedelta(hours=6)),
            aggregator=True,
        ),
        etag=etag,
        last_modified=modified,
    )
    wire = Wire(feeds.url("/wire.xml"), etag, modified, folder / "topics.toml")
    _topics_file(wire.topics, wire.url)
    return wire


def store_env(
    wire: Wire, folder: Path, size: int, now: datetime, log: Callable[[str], None]
) -> dict[str, str]:
    """Fill a store of `size` headlines of `wire`; the app's environment on it, with the
    clock fixed."""
    db = folder / f"news-{size}.db"
    started = time.perf_counter()
    fill_store(db, size, now, wire.url, wire.etag, wire.modified)
    log(f"{size} headlines stored in {time.perf_counter() - started:.1f} s")
    return {
        "NEWS_TOPICS": str(wire.topics),
        "NEWS_DB": str(db),
        "NEWS_CLOCK": now.isoformat(),
        "NEWS_CACHE_TTL": "3600",
    }


@contextmanager
def app_on_store(
    wire: Wire,
    folder: Path,
    size: int,
    now: datetime,
    log: Callable[[str], None],
    app: Path = APP,
) -> Iterator[Server]:
    """The real app on a store of `size` headlines of `wire`, with the clock fixed."""
    env = {
        **store_env(wire, folder, size, now, log),
        # No refresher loop in the measured server: the trivial app has no such work, and
        # the store is filled (with the feed's validators) before the server starts.
        "NEWS_REFRESH": "external",
    }
    with streamlit_server(app, env, folder / f"app-{size}.log", cwd=app.parent) as server:
        yield server


def new_context(browser: Browser, app: Server | None = None) -> BrowserContext:
    """A browser context of the benchmark's size (its pages time their WebSocket messages);
    with the consent cookie set for `app`."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.add_init_script(_TIME_MESSAGES)
    if app is not None:
        context.add_cookies([{"name": COOKIE, "value": "1", "url": app.url}])
    return context


def run_browser(
    sizes: BrowserSizes, now: datetime, log: Callable[[str], None], app: Path = APP
) -> BrowserFigures:
    """Start the servers and the browser; measure every size (`app`: the script to run)."""
    if sizes.repeats + 1 > len(KEYWORDS):
        raise ValueError(f"at most {len(KEYWORDS) - 1} repetitions (one keyword each)")
    results: dict[int, SizeFigures] = {}
    with (
        FeedServer() as feeds,
        tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp,
        chromium() as browser,
    ):
        folder = Path(tmp)
        wire = serve_wire(feeds, now, folder)
        # The floor runs with Streamlit's defaults: no project config (its cwd has none).
        floor = folder / "trivial"
        floor.mkdir()
        with streamlit_server(TRIVIAL_APP, {}, folder / "trivial.log", cwd=floor) as trivial:
            trivial_context = new_context(browser)
            for size in sorted(set(sizes.growth) | set(sizes.full)):
                with app_on_store(
                    wire, folder, size, now, lambda line: log(f"browser: {line}"), app
                ) as server:
                    results[size] = _measure(
                        browser, trivial_context, server, trivial, size, sizes, log
                    )
            trivial_context.close()
    return BrowserFigures(by_size=results, full=sizes.full)


class BoxReruns:
    """A page of the trivial app (or another app with its box and line of output:
    bench/floor_app.py) and its reruns: a new text in its box each time."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.typed = 0

    def rerun(self) -> float:
        before = f"t{self.typed:03d}"
        self.typed += 1
        text = f"t{self.typed:03d}"
        unwanted = trivial_output(before) if self.typed > 1 else None
        return type_keyword(self.page, text, trivial_output(text), unwanted).seconds


def _measure(
    browser: Browser,
    trivial_context: BrowserContext,
    app: Server,
    trivial: Server,
    size: int,
    sizes: BrowserSizes,
    log: Callable[[str], None],
) -> SizeFigures:
    figures = SizeFigures(size=size)
    full = size in sizes.full
    context = new_context(browser, app)
    try:
        # The first open fills the caches (store read, index, refresh): not timed as warm.
        figures.first_open, page = open_page(context, app.url, marker(KEYWORDS[0]))
        page.close()
        _, trivial_page = open_page(trivial_context, trivial.url, trivial_output(""))
        floor = BoxReruns(trivial_page)
        floor.rerun()  # warm-up: the box's first use
        log(f"browser: {size}: first open {figures.first_open:.2f} s (cache cold)")

        if full:
            # Page opens; on each page opened, "view more headlines" once (50 → 100).
            for _ in range(sizes.repeats):
                opened = open_timed(context, app.url, marker(KEYWORDS[0]))
                figures.opened.append(opened.done)
                figures.seen.append(opened.seen)
                figures.note("more", view_more(opened.page), figures.more)
                opened.page.close()
                other = open_timed(trivial_context, trivial.url, trivial_output(""))
                figures.trivial_opened.append(other.done)
                figures.trivial_seen.append(other.seen)
                other.page.close()
                figures.trivial_more.append(floor.rerun())
            log(
                f"browser: {size}: page open {ms(figures.opened)} ms; "
                f"trivial {ms(figures.trivial_opened)} ms"
            )
            log(
                f"browser: {size}: first headline drawn {ms(figures.seen)} ms; "
                f"trivial's output {ms(figures.trivial_seen)} ms"
            )
            log(
                f"browser: {size}: view more {ms(figures.more)} ms; "
                f"trivial {ms(figures.trivial_more)} ms"
            )

            # The publication filter flipped: Bench Desk's headlines out, then only them ("All
            # publications" would clear the choice, which the next flip needs).
            link = f"{app.url}/?pubs={PUBLICATION.replace(' ', '+')}"
            _, page = open_page(context, link, marker(KEYWORDS[0]))
            flips = [(ALL_BUT, in_view(size - len(KEYWORDS)), in_view(len(KEYWORDS))),
                     (ONLY, in_view(len(KEYWORDS)), in_view(size - len(KEYWORDS)))]  # fmt: skip
            pick_mode(page, *flips[0])  # warm-up
            pick_mode(page, *flips[1])
            for rep in range(sizes.repeats):
                figures.note("picked", pick_mode(page, *flips[rep % 2]), figures.picked)
                figures.trivial_picked.append(floor.rerun())
            page.close()
            log(
                f"browser: {size}: publication filter {ms(figures.picked)} ms; "
                f"trivial {ms(figures.trivial_picked)} ms"
            )

        _, page = open_page(context, app.url, marker(KEYWORDS[0]))
        # Warm-up: the first keyword of the session (and the box's first use).
        type_keyword(page, KEYWORDS[0], marker(KEYWORDS[0]), marker(KEYWORDS[1]))
        for rep in range(1, sizes.repeats + 1):
            keyword, before = KEYWORDS[rep], KEYWORDS[rep - 1]
            typed = type_keyword(page, keyword, marker(keyword), marker(before))
            figures.note("typed", typed, figures.typed)
            figures.trivial_typed.append(floor.rerun())
        log(
            f"browser: {size}: keyword typed {ms(figures.typed)} ms; "
            f"trivial {ms(figures.trivial_typed)} ms"
        )
        figures.rss_mb = rss_mb(app)
        figures.trivial_rss_mb = rss_mb(trivial)
        log(
            f"browser: {size}: server memory {figures.rss_mb:.0f} MB; "
            f"trivial {figures.trivial_rss_mb:.0f} MB"
        )
        page.close()
        trivial_page.close()
    finally:
        context.close()
    return figures
