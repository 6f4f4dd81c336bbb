"""The real app with values at the calendar's edges: feed dates, link ranges, the clock,
repeated link parameters. Nothing from outside may stop the page (issue 14)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from support.feeds import rss
from support.feedserver import FeedServer
from tests.markdown import viewer_text
from tests.test_app import (  # noqa: F401  (_fresh_caches: an autouse fixture, found by name)
    APP,
    NOW,
    _fresh_caches,
    bucket_titles,
    page_html,
    run,
    run_with,
    serve,
    texts,
    write_topics,
)
from ui.explore import NO_MATCH


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private store and a fixed clock, as in test_app; returns the folder for a topics file."""
    monkeypatch.setenv("NEWS_DB", str(tmp_path / "news.db"))
    monkeypatch.setenv("NEWS_CLOCK", NOW.isoformat())
    monkeypatch.setenv("NEWS_FETCH_DEADLINE", "5")
    monkeypatch.delenv("NEWS_OFFLINE", raising=False)
    return tmp_path


EDGE_DATES = (
    "Fri, 31 Dec 9999 23:59:59 -1400",
    "Mon, 01 Jan 0001 00:00:00 +1400",
    "31 Dec 9999 23:59 EST",
)


def edge_feed() -> bytes:
    """The aggregator's feed, with items dated at the calendar's ends around one good item."""
    items = [
        f"<item><title>Edge {n} China Russia</title><link>https://news.test/edge{n}</link>"
        f"<pubDate>{date}</pubDate></item>"
        for n, date in enumerate(EDGE_DATES)
    ]
    good = (
        rss([])
        .decode()
        .replace(
            "</channel>",
            "".join(items)
            + "<item><title>Good China Russia</title><link>https://news.test/good</link>"
            f"<pubDate>{(NOW - timedelta(minutes=5)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
            "</pubDate></item></channel>",
        )
    )
    return good.encode()


def shown_titles(at) -> list[str]:
    return [t for titles in bucket_titles(at).values() for t in titles]


def test_feed_dates_at_the_calendar_ends_keep_the_topic(env, feed_server: FeedServer, monkeypatch):
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    feed_server.route("/agg.xml", edge_feed())
    at = run()
    assert not at.exception
    shown = shown_titles(at)
    assert "Good China Russia" in shown
    assert "China and Russia sign treaty" in shown  # the other sources are stored too
    # Unusable dates follow the rule for unreadable ones: the time first seen, marked.
    for n in range(len(EDGE_DATES)):
        assert f"Edge {n} China Russia" in shown
    assert page_html(at).count('class="np-time np-seen"') == len(EDGE_DATES)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00+14:00", "2024-09-18T03:00:00Z"),
        ("2024-09-18T01:00:00Z", "9999-12-31T23:59:59-14:00"),
        ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z"),
        ("9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z"),
    ],
)
def test_a_link_range_at_the_calendar_ends_is_a_notice(env, feed_server, monkeypatch, start, end):
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run_with({"from": start, "to": end})
    assert not at.exception
    (notice,) = [t for t in (viewer_text(c.value) for c in at.caption) if "ignored" in t]
    assert "time range in the link" in notice
    assert len(shown_titles(at)) >= 1


def test_a_range_partly_outside_the_window_is_cut_to_it(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    start = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    at = run_with({"from": start, "to": end})
    assert not at.exception
    (notice,) = [t for t in (viewer_text(c.value) for c in at.caption) if "ignored" in t]
    assert "the time range in the link reaches outside the last 7 days" in notice
    chip = viewer_text(at.button(key="chip-range").label)
    # From the start of the chart's first slot, in London time.
    assert "from 00:00 11 Sep 2024 to 03:22 18 Sep 2024" in chip


def test_a_range_wholly_outside_the_window_is_refused(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run_with({"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"})
    (notice,) = [t for t in (viewer_text(c.value) for c in at.caption) if "ignored" in t]
    assert "the time range in the link is outside the last 7 days" in notice
    assert not [b for b in at.button if b.key == "chip-range"]
    assert len(shown_titles(at)) == 6


@pytest.mark.parametrize(
    "clock",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z",
     "9999-12-31T23:59:59Z"],
)  # fmt: skip
def test_a_clock_at_the_calendar_ends_is_one_clear_error(env, monkeypatch, clock) -> None:
    monkeypatch.setenv("NEWS_CLOCK", clock)
    monkeypatch.setenv("NEWS_OFFLINE", "1")
    at = run()
    assert not at.exception
    (error,) = [viewer_text(e.value) for e in at.error]
    assert "NEWS_CLOCK" in error
    assert "2024-09-18T04:22:00+01:00" in error


def test_a_repeated_link_parameter_is_reported_once(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run_with({"tz": ["mars", "mars"], "pubs": ["Nobody", "Nobody", "AP"], "q": ["a", "b"]})
    assert not at.exception
    (notice,) = [t for t in (viewer_text(c.value) for c in at.caption) if "ignored" in t]
    assert notice.count("Time zone “mars”") == 1
    assert notice.count("Publication “Nobody”") == 1
    assert notice.count("Keyword") == 1  # the second keyword is not used, said once
    assert at.text_input(key="q").value == "a"
    assert at.multiselect(key="pubs").value == ["AP"]
    assert "18 Sep 04:22" in texts(at)


@pytest.mark.parametrize(
    "wait", ["9" * 400, "1" + "0" * 20, "Wed, 18 Sep 2024 04:22:99999999999999999999 GMT"]
)
def test_an_endless_retry_after_is_one_failed_source(env, feed_server, monkeypatch, wait) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    feed_server.route("/agg.xml", b"busy", status=429, headers={"Retry-After": wait})
    at = run()
    assert not at.exception
    assert "China and Russia sign treaty" in shown_titles(at)
    warnings = " ".join(viewer_text(w.value) for w in at.warning)
    assert "2 of 3 sources failed: Aggregator (HTTP 429" in warnings


@pytest.mark.parametrize(
    ("clock", "zone"),
    [
        ("1970-01-01T00:00:00Z", "Pacific/Pago_Pago"),  # -11:00: the window starts in 1969
        ("1970-01-01T00:00:00Z", "Pacific/Kiritimati"),
        ("9998-12-31T23:59:59Z", "Pacific/Kiritimati"),  # +14:00: local time is in 9999
        ("9998-12-31T23:59:59Z", "Pacific/Pago_Pago"),
    ],
)
def test_the_page_works_at_the_ends_of_the_clock_range(
    env, feed_server, monkeypatch, clock: str, zone: str
) -> None:
    write_topics(env, feed_server, monkeypatch)
    path = env / "topics.toml"
    path.write_text(path.read_text().replace('timezone = "Europe/London"', f'timezone = "{zone}"'))
    serve(feed_server)
    monkeypatch.setenv("NEWS_CLOCK", clock)
    at = run()
    assert not at.exception
    assert not at.error
    # Feed dates from 2024 lie outside this clock's 7 days (ahead of a 1970 clock, so not
    # trusted): whatever is listed, the page draws its buckets and chart (one line instead
    # of the chart when nothing is listed).
    charts = [chart.key for chart in at.get("vega_lite_chart")]
    no_match = [c for c in at.caption if c.value == NO_MATCH]
    if shown_titles(at):
        assert charts == ["density-0"]
    else:
        assert charts == [] and no_match
    at.radio(key="tz").set_value("utc").run()
    assert not at.exception


@pytest.mark.parametrize("browser_zone", ["America", "Etc", "a" * 300, "../../etc/passwd"])
def test_a_browser_zone_that_is_no_zone_falls_back(env, feed_server, monkeypatch, browser_zone):
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = AppTest.from_file(APP, default_timeout=30)
    at.context = {"timezone": browser_zone}
    at.query_params["tz"] = "browser"
    at.run()
    assert not at.exception
    assert "Your browser's zone is not known yet; showing Europe/London." in texts(at)
    assert "18 Sep 04:22" in texts(at)
