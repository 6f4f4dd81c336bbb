"""The real app under AppTest: buckets, filters, empty message, consent, snapshot, failures.

Feeds come from a real HTTP server on 127.0.0.1; the store is a real SQLite file; the clock
is fixed with NEWS_CLOCK. The page never fetches the topic's feeds: as in production, the
refresher loop's rounds fill the store (`refresh`, run before each page run).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import monotonic, sleep
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.config import load_settings
from lib.errors import NewsError
from lib.model import Headline, Source, Topic
from lib.refresher import Refresher
from lib.store import Store
from lib.times import WINDOW
from support.feeds import Item, rss
from support.feedserver import FeedServer
from tests.markdown import viewer_text
from tests.storefaults import FAULTS, broken_store
from ui import data, server
from ui.freshness import ASKED, FIRST_TIME, NO_REFRESHER

# The page script (streamlit_app.py is the server around it, see tests/test_server.py).
APP = str(Path(__file__).resolve().parent.parent / "navigation.py")
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)  # 04:22 in London
EMPTY = "Sorry, no headlines or news topics were found. Please try different keywords."
SEED = [
    ("Bush Center to host Engage NexPoint Lecture about the looming China-Russia threat",
     "George W. Bush Presidential Center (Press Release)", "15:21 17-Sep-24", "Yesterday"),
    ("Serbia is Not a Russian Ally", "The National Interest", "05:00 17-Sep-24", "Yesterday"),
    ("Russian, Chinese Navies Conduct Firing Exercises", "NTD News (Video)", "00:02 17-Sep-24",
     "Yesterday"),
    ("Connecting alliances in Asia and Europe", "Brookings Institution", "10:28 16-Sep-24",
     "In the last 7 days"),
    ("Global conflicts and stable instability", "Caliber.AZ", "07:31 16-Sep-24",
     "In the last 7 days"),
    ("The Olympics: Arenas of Contention", "The Cairo Review", "20:12 15-Sep-24",
     "In the last 7 days"),
    ("China’s hypocritical land claims", "Taipei Times", "11:52 15-Sep-24", "In the last 7 days"),
    ("Vladimir Putin’s Pivot to China is backfiring", "Bellingham Herald", "04:28 15-Sep-24",
     "In the last 7 days"),
    ("Kamala Harris, Donald Trump, and the Race to Oblivion", "Foreign Policy In Focus",
     "10:08 13-Sep-24", "In the last 7 days"),
    ("China-Russia relations might have a few limits after all", "South China Morning Post",
     "17:33 12-Sep-24", "In the last 7 days"),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Streamlit's caches outlive an AppTest; every test starts from empty ones."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    server.stop_refresher()
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private store and a fixed clock; returns the folder for a topics file."""
    monkeypatch.setenv("NEWS_DB", str(tmp_path / "news.db"))
    monkeypatch.setenv("NEWS_CLOCK", NOW.isoformat())
    monkeypatch.setenv("NEWS_FETCH_DEADLINE", "5")
    monkeypatch.delenv("NEWS_OFFLINE", raising=False)
    return tmp_path


def write_topics(folder: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A topic with an aggregator feed, a world feed and a feed that is broken."""
    text = f"""
[[topic]]
slug = "china-russia"
title = "China-Russia news"
about = "Test about text for $5 and **this**."
query = '(china OR chinese) AND (russia OR russian)'
timezone = "Europe/London"

[[topic.source]]
name = "Aggregator"
url = "{server.url("/agg.xml")}"
topical = true

[[topic.source]]
name = "World Desk"
url = "{server.url("/world.xml")}"
label = "Video"

[[topic.source]]
name = "Broken"
url = "{server.url("/broken.xml")}"
"""
    path = folder / "topics.toml"
    path.write_text(text)
    monkeypatch.setenv("NEWS_TOPICS", str(path))


def agg_items() -> list[Item]:
    return [
        Item("Xi and Putin meet - Reuters", NOW - timedelta(minutes=10), source="Reuters"),
        Item("Gas pipeline deal signed - AP", NOW - timedelta(minutes=45), source="AP"),
        Item("Navies drill together - Reuters", NOW - timedelta(hours=3), source="Reuters"),
        Item("Trade hits record - AP", NOW - timedelta(hours=20), source="AP"),
        Item("Costs rose from $5 to $10 and **more** :red[x]", NOW - timedelta(days=3),
             source="Markup Times"),
    ]  # fmt: skip


def world_items() -> list[Item]:
    return [
        Item("China and Russia sign treaty", NOW - timedelta(minutes=90)),
        Item("Football results", NOW - timedelta(minutes=20)),  # not about the topic
    ]


def serve(server: FeedServer) -> None:
    server.route("/agg.xml", rss(agg_items()))
    server.route("/world.xml", rss(world_items()))
    server.route("/broken.xml", b"oops", status=500)


def page_html(at: AppTest) -> str:
    """Every st.html body of the page, joined."""
    return "\n".join(element.proto.body for element in at.html)


def texts(at: AppTest) -> str:
    """The page's text: markdown, captions, alerts, html bodies with tags removed."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.info] + [w.value for w in at.warning]
    parts += [e.value for e in at.error]
    parts = [viewer_text(part) for part in parts]
    parts += [re.sub(r"<[^>]+>", " ", page_html(at))]
    return "\n".join(parts)


PERIOD = timedelta(minutes=5)  # NEWS_REFRESH_EVERY's default


def refresh(later: timedelta = timedelta(0)) -> None:
    """One round of the real refresher loop, as an app server runs it (not when offline,
    nor with settings it cannot start with), on the wall clock moved `later` on: feeds
    fetched less than a period before are not due."""
    try:
        config = load_settings()
    except NewsError:
        return  # the server starts no refresher; the page says what is wrong
    if server.refresher_wanted(config):
        Refresher(config, lambda: datetime.now(UTC) + later).run_round()


def run(timeout: float = 30) -> AppTest:
    refresh()
    return AppTest.from_file(APP, default_timeout=timeout).run()


def bucket_titles(at: AppTest) -> dict[str, list[str]]:
    """Each bucket heading shown, with the titles under it."""
    found: dict[str, list[str]] = {}
    for block in page_html(at).split('<div class="np-bucket">')[1:]:
        heading = re.search(r"<h3[^>]*>(.*?)</h3>", block)
        assert heading, block
        titles = re.findall(r"<li[^>]*><(?:a|span)[^>]*>(.*?)</(?:a|span)>", block)
        found[heading.group(1)] = [re.sub(r"</?mark>", "", title) for title in titles]
    return found


def test_live_feeds_fill_the_buckets(env: Path, feed_server: FeedServer, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    assert not at.exception
    buckets = bucket_titles(at)
    assert buckets["In the last half-hour"] == ["Xi and Putin meet"]
    assert buckets["In the last hour"] == ["Gas pipeline deal signed"]
    assert buckets["In the last 2 hours"] == ["China and Russia sign treaty"]
    assert buckets["In the last 4 hours"] == ["Navies drill together"]
    assert buckets["Earlier today"] == []
    assert buckets["Yesterday"] == ["Trade hits record"]
    assert buckets["In the last 7 days"] == ["Costs rose from $5 to $10 and **more** :red[x]"]
    assert "Football results" not in page_html(at)  # the world feed is filtered by the query
    assert "18 Sep 04:22" in texts(at)
    html = page_html(at)
    assert "World Desk (Video)" in html
    assert "04:12 18-Sep-24" in html  # 10 minutes before 04:22, London time
    warnings = " ".join(viewer_text(w.value) for w in at.warning)
    assert "1 of 3 sources failed: Broken (HTTP 500" in warnings


def test_keyword_and_publication_filters(env: Path, feed_server: FeedServer, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    at.text_input(key="q").input("pipeline OR treaty").run()
    shown = [t for titles in bucket_titles(at).values() for t in titles]
    assert shown == ["Gas pipeline deal signed", "China and Russia sign treaty"]
    assert "Gas <mark>pipeline</mark> deal signed" in page_html(at)  # the match is marked
    at.radio(key="pub_mode").set_value("except").run()
    at.multiselect(key="pubs").select("AP").run()
    shown = [t for titles in bucket_titles(at).values() for t in titles]
    assert shown == ["China and Russia sign treaty"]
    at.text_input(key="q").input("").run()
    at.radio(key="pub_mode").set_value("only").run()
    shown = [t for titles in bucket_titles(at).values() for t in titles]
    assert shown == ["Gas pipeline deal signed", "Trade hits record"]
    # Publication options carry their counts.
    options = at.multiselect(key="pubs").options
    assert "Reuters (2)" in options and "AP (2)" in options


def test_nothing_matching_shows_the_seed_message(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    at.text_input(key="q").input("zebra").run()
    assert EMPTY in [m.value for m in at.markdown]
    assert bucket_titles(at) == {}
    at.text_input(key="q").input("(unbalanced").run()
    assert any("Keyword not used" in viewer_text(w.value) for w in at.sidebar.warning)


def test_titles_are_text_never_markup(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    html = page_html(at)
    assert "Costs rose from $5 to $10 and **more** :red[x]" in html
    markdown = " ".join(m.value for m in at.markdown)
    assert "Costs rose" not in markdown  # never passed through Markdown


def test_a_failing_source_keeps_what_it_gave(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    assert "Gas pipeline deal signed" in page_html(at)
    feed_server.route("/agg.xml", b"<html>down</html>", status=503)
    refresh(PERIOD)  # the refresher's next round
    at = run()
    assert "Gas pipeline deal signed" in page_html(at)
    warnings = " ".join(viewer_text(w.value) for w in at.warning)
    assert "2 of 3 sources failed: Aggregator (HTTP 503" in warnings
    assert "earlier headlines are still shown" in warnings


def test_view_more_headlines_pages_through(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    many = [
        Item(f"Story {n:03d} - Wire", NOW - timedelta(minutes=n), source="Wire") for n in range(120)
    ]
    feed_server.route("/agg.xml", rss(many))
    feed_server.route("/world.xml", rss([]))
    feed_server.route("/broken.xml", rss([]))
    at = run()
    count = sum(len(t) for t in bucket_titles(at).values())
    assert count == 50
    more = at.button(key="more")
    assert more.label == "view more headlines (70 more)"
    more.click().run()
    assert sum(len(t) for t in bucket_titles(at).values()) == 100
    at.button(key="more").click().run()
    assert sum(len(t) for t in bucket_titles(at).values()) == 120
    assert not [b for b in at.button if b.key == "more"]


def test_offline_shows_the_seed_page(env: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEWS_OFFLINE", "1")
    monkeypatch.delenv("NEWS_CLOCK")
    at = run()
    assert not at.exception
    assert any("bundled snapshot" in viewer_text(i.value) for i in at.info)
    assert "18 Sep 04:22" in texts(at)
    # The snapshot's time is not shown as if it were now.
    assert any(m.value.startswith("Snapshot of **18 Sep 04:22**") for m in at.markdown)
    buckets = bucket_titles(at)
    for title, publication, time, heading in SEED:
        assert title in buckets[heading], title
        row = re.search(re.escape(title) + r".*?</li>", page_html(at)).group(0)
        assert publication in row and time in row
    shown = [t for titles in buckets.values() for t in titles]
    assert shown == [title for title, *_ in SEED]  # same order as the seed page
    assert [h for h, titles in buckets.items()] == [
        "In the last half-hour", "In the last hour", "In the last 2 hours",
        "In the last 4 hours", "Earlier today", "Yesterday", "In the last 7 days",
    ]  # fmt: skip


def test_unreachable_sources_fall_back_to_the_snapshot(env, monkeypatch) -> None:
    dead = FeedServer()
    with dead:
        url = dead.url("/feed.xml")
    # The server is gone: its port now refuses connections.
    topics = env / "topics.toml"
    topics.write_text(
        '[[topic]]\nslug = "china-russia"\ntitle = "China-Russia news"\nabout = "x"\n'
        'query = "china AND russia"\ntimezone = "Europe/London"\n'
        f'[[topic.source]]\nname = "Dead"\nurl = "{url}"\n'
    )
    monkeypatch.setenv("NEWS_TOPICS", str(topics))
    at = run()
    assert any("no source could be reached" in viewer_text(i.value) for i in at.info)
    assert "Serbia is Not a Russian Ally" in page_html(at)


def test_consent_notice_until_ok(env: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEWS_OFFLINE", "1")
    at = run()
    notice = [m.value for m in at.markdown if "By clicking" in m.value]
    assert notice and "news_consent" in notice[0] and "usage statistics" in notice[0]
    at.button(key="consent-ok").click().run()
    assert not [m for m in at.markdown if "By clicking" in m.value]
    # The click writes the cookie that keeps the notice away on reload.
    # It holds the browser's random id (what keeps its own feeds), not a fixed value.
    cookie = re.search(r"document\.cookie = 'news_consent=([^;]*);", page_html(at))
    assert cookie and re.fullmatch(r"[A-Za-z0-9_-]{22}", cookie[1])
    at.run()
    assert not [m for m in at.markdown if "By clicking" in m.value]


def test_about_page(env: Path, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    assert any("By clicking" in m.value for m in at.markdown)  # the notice, on the first page
    at.switch_page("pages/about.py").run()
    assert not at.exception
    assert [viewer_text(t.value) for t in at.title] == ["About our China-Russia news"]
    assert "Test about text for $5 and **this**." in [t.value for t in at.text]
    # Opening another page is continuing to use the site: the notice goes, the cookie stays.
    assert not any("By clicking" in m.value for m in at.markdown)
    assert re.search(r"document\.cookie = 'news_consent=[A-Za-z0-9_-]{22};", page_html(at))
    assert any("news_last_visit" in m.value for m in at.markdown)  # the privacy section
    table = at.dataframe[0].value
    assert list(table["Source"]) == ["Aggregator", "World Desk", "Broken"]


def test_a_broken_topics_file_is_one_clear_error(env: Path, monkeypatch) -> None:
    bad = env / "topics.toml"
    bad.write_text('[[topic]]\nslug = "x"\ntitle = "X"\nquery = "a"\ntimezone = "Nowhere/City"\n')
    monkeypatch.setenv("NEWS_TOPICS", str(bad))
    at = run()
    assert not at.exception
    (error,) = [viewer_text(e.value) for e in at.error]
    assert f"{bad}, line 1: topic 'x': unknown timezone 'Nowhere/City'" in error
    assert "Fix it and reload" in error


def test_sources_page_shows_health_and_advice(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    at.switch_page("pages/sources.py").run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("Source")
    assert table.loc["Aggregator", "Status"] == "ok"
    assert table.loc["Aggregator", "Kept for topic"] == 5
    assert table.loc["World Desk", "Items in feed"] == 2
    assert table.loc["World Desk", "Kept for topic"] == 1  # the query keeps one of two
    assert table.loc["Broken", "Status"] == "failing since 04:22 18 Sep 2024"
    assert table.loc["Broken", "HTTP"] == 500
    assert "publisher's server has a problem" in table.loc["Broken", "What to do"]
    assert any("1 of 3 sources are failing" in viewer_text(w.value) for w in at.warning)


def test_a_stale_source_says_what_it_shows(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    run()
    feed_server.route("/agg.xml", b"busy", status=429, headers={"Retry-After": "600"})
    monkeypatch.setenv("NEWS_CLOCK", (NOW + timedelta(minutes=7)).isoformat())
    refresh(PERIOD)  # the refresher's next round
    at = run()
    captions = [viewer_text(c.value) for c in at.caption]
    assert (
        "Aggregator: showing headlines from 04:22 18 Sep 2024; last attempt failed: "
        "HTTP 429 Too Many Requests; next try 04:39 18 Sep 2024"
    ) in captions
    assert "Gas pipeline deal signed" in page_html(at)


def run_with(params: dict[str, str | list[str]]) -> AppTest:
    refresh()
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update(params)
    return at.run()


def test_a_link_restores_the_view(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run_with({"q": "pipeline OR treaty", "pub_mode": "except", "pubs": ["AP"], "tz": "utc"})
    assert not at.exception
    assert at.text_input(key="q").value == "pipeline OR treaty"
    assert at.radio(key="pub_mode").value == "except"
    assert at.multiselect(key="pubs").value == ["AP"]
    shown = [t for titles in bucket_titles(at).values() for t in titles]
    assert shown == ["China and Russia sign treaty"]
    assert "18 Sep 03:22" in texts(at)  # the clock in UTC, as the link asked
    assert not [c for c in at.caption if "ignored" in c.value]


def test_a_bad_link_is_ignored_with_a_notice(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run_with({"tz": "mars", "pubs": ["Nobody", "AP"], "pub_mode": "maybe", "zzz": "1",
                   "topic": "no-such-topic"})  # fmt: skip
    assert not at.exception
    (notice,) = [viewer_text(c.value) for c in at.caption if "ignored" in c.value]
    for words in ("Time zone “mars”", "Publication “Nobody”", "Publication filter “maybe”",
                  "“zzz” is not a setting", "Topic “no-such-topic”"):  # fmt: skip
        assert words in notice
    assert at.radio(key="tz").value == "topic"
    assert "18 Sep 04:22" in texts(at)


def test_the_topic_switcher(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    path = env / "topics.toml"
    path.write_text(
        path.read_text()
        + f"""
[[topic]]
slug = "second"
title = "Second topic"
about = "Second about."
query = "football"
timezone = "UTC"

[[topic.source]]
name = "World Desk"
url = "{feed_server.url("/world.xml")}"
"""
    )
    at = run()
    assert at.selectbox(key="topic").options == ["China-Russia news", "Second topic"]
    at.selectbox(key="topic").set_value("second").run()
    assert [viewer_text(t.value) for t in at.title] == ["Second topic"]
    assert [t for titles in bucket_titles(at).values() for t in titles] == ["Football results"]
    linked = run_with({"topic": "second"})
    assert [t.value for t in linked.title] == ["Second topic"]


def test_a_topic_switch_drops_what_the_new_topic_cannot_use(env, feed_server, monkeypatch):
    """The keyword and publications the new topic lacks go, and one line says so; the
    zone stays (a way of looking, not a filter)."""
    test_the_topic_switcher(env, feed_server, monkeypatch)
    at = run_with({"q": "treaty", "pub_mode": "except", "pubs": "AP", "tz": "utc"})
    assert len(bucket_titles(at)) >= 1
    at.selectbox(key="topic").set_value("second").run()
    (line,) = [viewer_text(c.value) for c in at.caption if "Topic switched" in c.value]
    assert line == (
        "Topic switched, so the keyword “treaty” and the publication filter's AP "
        "(not in this topic) were cleared."
    )
    assert [t for titles in bucket_titles(at).values() for t in titles] == ["Football results"]
    assert dict(at.query_params) == {"topic": "second", "tz": "utc"}
    assert at.radio(key="pub_mode").value == "all" and at.multiselect(key="pubs").value == []
    at.run()  # said once
    assert not [c for c in at.caption if "Topic switched" in c.value]
    # A link to another topic (not a switch) keeps what it asks for.
    linked = run_with({"topic": "second", "q": "results"})
    assert [t for titles in bucket_titles(linked).values() for t in titles] == ["Football results"]


def test_the_url_follows_the_view_with_short_codes(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    assert dict(at.query_params) == {}  # defaults leave the URL clean
    at.text_input(key="q").input("gas").run()
    at.radio(key="pub_mode").set_value("only").run()
    at.multiselect(key="pubs").select("AP").run()
    at.radio(key="tz").set_value("utc").run()
    params = dict(at.query_params)
    assert params == {"q": "gas", "pub_mode": "only", "pubs": "AP", "tz": "utc"}
    # The same URL opened in a new session shows the same list.
    shown = [t for titles in bucket_titles(at).values() for t in titles]
    again = run_with(params)
    assert [t for titles in bucket_titles(again).values() for t in titles] == shown


def test_publication_filter_edges(env, feed_server, monkeypatch) -> None:
    """ "Only the selected" with none chosen lists everything and says so; back to "All
    publications", the old choice leaves the box and the link; chips say what is in force."""
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    every = sum(len(t) for t in bucket_titles(at).values())
    at.radio(key="pub_mode").set_value("only").run()
    assert sum(len(t) for t in bucket_titles(at).values()) == every
    assert "None chosen yet: every publication is shown." in sidebar_captions(at)
    assert "pub_mode" not in dict(at.query_params)  # nothing chosen: the view is unfiltered
    at.multiselect(key="pubs").select("AP").run()
    assert dict(at.query_params) == {"pub_mode": "only", "pubs": "AP"}
    assert viewer_text(at.button(key="chip-pubs").label) == "Only: AP"
    at.radio(key="pub_mode").set_value("except").run()
    assert viewer_text(at.button(key="chip-pubs").label) == "Hiding: AP"
    at.radio(key="pub_mode").set_value("all").run()
    assert at.multiselect(key="pubs").value == [] and dict(at.query_params) == {}
    assert not [b for b in at.button if (b.key or "").startswith("chip-")]
    # A keyword with a syntax error: its chip says it is not used, and why.
    at.text_input(key="q").input("(treaty").run()
    label = viewer_text(at.button(key="chip-keyword").label)
    assert label.startswith("Keyword not used: “(treaty” (")
    at.button(key="chip-keyword").click().run()
    assert at.text_input(key="q").value == "" and dict(at.query_params) == {}


def add_feed(at: AppTest, url: str) -> AppTest:
    at.text_input(key="feed_url").input(url)
    (submit,) = [b for b in at.button if b.label == "Add feed"]
    return submit.click().run()


def sidebar_errors(at: AppTest) -> list[str]:
    return [viewer_text(e.value) for e in at.sidebar.error]


def sidebar_captions(at: AppTest) -> list[str]:
    return [viewer_text(c.value) for c in at.sidebar.caption]


def test_a_viewer_adds_a_feed_for_their_session(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    feed_server.route("/mine.xml", rss([
        Item("China and Russia open a bridge", NOW - timedelta(minutes=5)),
        Item("Local weather", NOW - timedelta(minutes=6)),
    ], title="My Feed"))  # fmt: skip
    monkeypatch.setenv("NEWS_ALLOW_PRIVATE_HOSTS", "1")  # the test server is on 127.0.0.1
    at = add_feed(run(), feed_server.url("/mine.xml"))
    assert sidebar_errors(at) == []
    html = page_html(at)
    assert "China and Russia open a bridge" in html  # matches the topic query
    assert "My Feed" in html  # its publication: the feed's own title, not the address's host
    assert "Local weather" not in html
    assert any(c.value.endswith("— ok") for c in at.sidebar.caption)
    # Another viewer's session does not see it.
    assert "China and Russia open a bridge" not in page_html(run())
    at.switch_page("pages/sources.py").run()
    table = at.dataframe[0].value.set_index("Source")
    assert table.loc["My Feed (yours)", "Kept for topic"] == 1  # by its title, once fetched


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("javascript:alert(1)", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://127.0.0.1:9/feed", "loopback"),
        ("http://10.1.2.3/feed", "private"),
    ],
)
def test_untrusted_feed_urls_are_refused(env, feed_server, monkeypatch, url, problem) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    monkeypatch.delenv("NEWS_ALLOW_PRIVATE_HOSTS", raising=False)
    at = add_feed(run(), url)
    (error,) = sidebar_errors(at)
    assert error.startswith("Not added: ") and problem in error
    assert at.session_state["user_feeds"] == []


def test_feeds_per_session_are_limited_and_opml_imports(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    monkeypatch.setenv("NEWS_ALLOW_PRIVATE_HOSTS", "1")
    for n in range(3):
        feed_server.route(f"/u{n}.xml", rss([]))
    opml = "".join(
        f'<outline text="Feed {n}" xmlUrl="{feed_server.url(f"/u{n}.xml")}"/>' for n in range(7)
    )
    at = run()
    at.file_uploader(key="opml").upload(
        "mine.opml", f'<opml version="2.0"><body>{opml}</body></opml>'.encode(), "text/xml"
    ).run()
    assert [s.name for s in at.session_state["user_feeds"]] == [f"Feed {n}" for n in range(5)]
    captions = [viewer_text(c.value) for c in at.sidebar.caption]
    assert "Added 5 of 7 feeds: 2 over the limit of 5 per browser." in captions


def upload_opml(at: AppTest, outlines: list[tuple[str, str]]) -> AppTest:
    body = "".join(f'<outline text="{name}" xmlUrl="{url}"/>' for name, url in outlines)
    data = f'<opml version="2.0"><body>{body}</body></opml>'.encode()
    return at.file_uploader(key="opml").upload("mine.opml", data, "text/xml").run()


def test_an_opml_import_is_summarised_in_one_line(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    monkeypatch.setenv("NEWS_ALLOW_PRIVATE_HOSTS", "1")
    for n in range(36):
        feed_server.route(f"/u{n}.xml", rss([]))
    good = [(f"Feed {n}", feed_server.url(f"/u{n}.xml")) for n in range(36)]
    bad = [(f"Bad {n}", f"file:///etc/{n}") for n in range(3)]
    on_page = [("Again", feed_server.url("/agg.xml"))]
    at = upload_opml(run(), [good[0], *bad, *on_page, *good[1:]])
    assert not at.exception
    assert [c for c in sidebar_captions(at) if c.startswith("Added")] == [
        "Added 5 of 40 feeds: 3 refused (the first: only http:// and https:// feeds can be "
        "added (got file:)), 1 already on the page, 31 over the limit of 5 per browser."
    ]
    assert len(at.sidebar.caption) < 12  # the panel's own lines, not one per outline
    assert len(at.session_state["user_feeds"]) == 5
    assert "Xi and Putin meet" in page_html(at)  # the page goes on as before

    # A file of bad addresses: a few are checked, the rest are counted, not looked up.
    at = upload_opml(run(), [(f"Bad {n}", f"http://{n}.invalid/feed") for n in range(400)])
    (summary,) = [c for c in sidebar_captions(at) if c.startswith("Added")]
    assert summary.startswith("Added 0 of 400 feeds: 10 refused (the first: ")
    assert summary.endswith(", 390 not tried after 10 refusals.")


def test_a_big_opml_file_is_refused_in_one_line(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    many = [(f"Feed {n}", f"https://feeds.test/{n}.xml") for n in range(20_000)]
    at = upload_opml(run(), many)  # about 1.3 MB
    assert sidebar_errors(at) == ["Not imported: the file is over 1 MB — import a shorter list."]
    assert at.session_state["user_feeds"] == []
    # Under the size cap, only the first 1,000 feeds are read.
    at = upload_opml(run(), many[:1_200])
    (summary,) = [c for c in sidebar_captions(at) if c.startswith("Added")]
    assert summary.startswith("Added 0 of the first 1,000 feeds: 10 refused")
    assert "Xi and Putin meet" in page_html(at)


def test_a_keyword_too_long_is_one_line_and_the_page_goes_on(env, feed_server, monkeypatch):
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    at.text_input(key="q").input("pipeline " * 100).run()
    assert [viewer_text(w.value) for w in at.sidebar.warning] == [
        "Keyword not used: Too long — use at most 500 characters."
    ]
    assert len([t for titles in bucket_titles(at).values() for t in titles]) == 6  # unfiltered
    at.text_input(key="q").input(" OR ".join(f"w{n}" for n in range(60))).run()
    assert [viewer_text(w.value) for w in at.sidebar.warning] == [
        "Keyword not used: Too many words — use at most 50 words and phrases."
    ]
    at.text_input(key="q").input("pipeline").run()
    assert not at.sidebar.warning
    assert [t for titles in bucket_titles(at).values() for t in titles] == [
        "Gas pipeline deal signed"
    ]
    # The same from a link.
    at = run_with({"q": "treaty " * 1000})
    assert [viewer_text(w.value) for w in at.sidebar.warning] == [
        "Keyword not used: Too long — use at most 500 characters."
    ]


HOSTILE = "![](http://evil.example/x.png) [Verify](https://evil.example/login) $5 :red[x]"


def markdown_sources(at: AppTest) -> list[str]:
    """The Markdown source of every element and option label that renders Markdown."""
    elements = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.title]
    sources = [element.value for element in elements]
    for pills in at.get("button_group"):
        sources += [str(option) for option in pills.options]
    return sources


def test_outside_text_reaches_markdown_only_escaped(env, feed_server, monkeypatch) -> None:
    """Link values, OPML titles and feed names are shown as typed, never read as Markdown."""
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    monkeypatch.setenv("NEWS_ALLOW_PRIVATE_HOSTS", "1")
    feed_server.route("/own.xml", b"", status=404)
    at = run_with({"pubs": HOSTILE, HOSTILE: "1"})
    opml = (
        f'<outline text="{HOSTILE.replace("&", "&amp;")}" xmlUrl="{feed_server.url("/own.xml")}"/>'
    )
    at.file_uploader(key="opml").upload(
        "own.opml", f'<opml version="2.0"><body>{opml}</body></opml>'.encode(), "text/xml"
    ).run()
    at.run()  # the own feed is fetched and its outcome shown
    sidebar = [viewer_text(c.value) for c in at.sidebar.caption]
    assert any(line.startswith(f"{HOSTILE} — ") for line in sidebar), sidebar
    first = run_with({"pubs": HOSTILE, HOSTILE: "1"})
    (notice,) = [viewer_text(c.value) for c in first.caption if "ignored" in c.value]
    assert f"“{HOSTILE}” is not a setting of this page" in notice
    assert f"Publication “{HOSTILE}” is not available now" in notice
    # Each piece of Markdown in HOSTILE, unescaped (an autolink: without the word joiner).
    constructs = re.compile(r"(?<!\\)(\]\(|\[Verify|\$5|:red)|http:(?!\u2060)")
    for source in markdown_sources(at) + markdown_sources(first):
        assert not constructs.search(source), source


def test_copies_of_a_story_collapse_into_one_entry(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    feed_server.route("/agg.xml", rss([
        Item("Xi and Putin sign new energy deal in Moscow - Reuters", NOW - timedelta(hours=3),
             source="Reuters"),
        Item("Putin and Xi sign new energy deal in Moscow - AP", NOW - timedelta(hours=1),
             source="AP"),
        Item("China and Russia hold naval drills - AP", NOW - timedelta(hours=2), source="AP"),
    ]))  # fmt: skip
    feed_server.route("/world.xml", rss([]))
    feed_server.route("/broken.xml", rss([]))
    at = run()
    html = page_html(at)
    assert "+1 more: Reuters" in html
    assert "first reported by Reuters at" in html and "01:22 18-Sep" in html  # 3 hours ago
    # Placed by its newest report (1 hour ago), and shown by it: one time, the bucket's.
    first = bucket_titles(at)["In the last 2 hours"][0]
    assert first == "Putin and Xi sign new energy deal in Moscow"
    at.toggle(key="group").set_value(False).run()
    assert "+1 more" not in page_html(at)
    assert sum(len(t) for t in bucket_titles(at).values()) == 3


def test_stories_are_the_stored_ones_and_a_later_copy_joins(env, feed_server, monkeypatch) -> None:
    """The page groups by the story ids the refresher stored (it groups nothing itself): a
    copy a later round stores joins its story on the page."""
    import sqlite3

    write_topics(env, feed_server, monkeypatch)
    deal = Item("Xi and Putin sign new energy deal in Moscow - Reuters", NOW - timedelta(hours=3),
                source="Reuters")  # fmt: skip
    drills = [
        Item("China and Russia hold joint naval drills - AP", NOW - timedelta(hours=2),
             source="AP"),
        Item("China and Russia hold joint naval drills at sea - BBC",
             NOW - timedelta(minutes=100), source="BBC"),
    ]  # fmt: skip
    feed_server.route("/agg.xml", rss([deal, *drills]))
    feed_server.route("/world.xml", rss([]))
    feed_server.route("/broken.xml", rss([]))
    at = run()
    html = page_html(at)
    assert "+1 more: AP" in html and "+1 more: Reuters" not in html  # the drills' story
    copy = Item("Putin and Xi sign new energy deal in Moscow - AP", NOW - timedelta(hours=1),
                source="AP")  # fmt: skip
    feed_server.route("/agg.xml", rss([deal, *drills, copy]))  # the items' links kept
    refresh(PERIOD)  # the refresher's next round stores the copy
    at.run()
    html = page_html(at)
    assert "+1 more: AP" in html and "+1 more: Reuters" in html
    assert "first reported by Reuters at" in html and "01:22 18-Sep" in html
    db = env / "news.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT title, publication, story FROM headline ORDER BY id")
        stories = {f"{title} ({pub})": story for title, pub, story in rows.fetchall()}
        assert list(stories.values()) == [1, 2, 2, 1], stories  # the copy in the deal's story
        # Stored apart (as another assigner could have decided): the page follows the store.
        conn.execute("UPDATE headline SET story = 999 WHERE title LIKE 'Putin and Xi%'")
    st.cache_resource.clear()  # a new process: the index is read whole
    html = page_html(run())
    assert "+1 more: Reuters" not in html and "+1 more: AP" in html
    assert "Putin and Xi sign new energy deal in Moscow" in html


def test_a_time_range_narrows_the_list_and_resets(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    start = (NOW - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    at = run_with({"from": start, "to": end})
    shown = [t for titles in bucket_titles(at).values() for t in titles]
    assert shown == ["China and Russia sign treaty", "Navies drill together"]
    chip = viewer_text(at.button(key="chip-range").label)
    assert chip == "2 headlines from 00:22 18 Sep 2024 to 03:22 18 Sep 2024"
    assert dict(at.query_params)["from"] == start
    at.button(key="chip-range").click().run()
    assert sum(len(t) for t in bucket_titles(at).values()) == 6
    assert "from" not in dict(at.query_params)
    bad = run_with({"from": "yesterday", "to": end})
    assert any("time range in the link" in c.value for c in bad.caption)


def test_the_view_downloads(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["CSV", "JSON", "RSS", "Export sources as OPML"]


def test_clicking_a_publication_narrows_to_it(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    pills = at.pills(key="pub_pick")
    assert [viewer_text(option) for option in pills.options[:2]] == ["AP (2)", "Reuters (2)"]
    pills.set_value("Reuters").run()
    assert at.radio(key="pub_mode").value == "only"
    assert at.multiselect(key="pubs").value == ["Reuters"]
    shown = [t for titles in bucket_titles(at).values() for t in titles]
    assert shown == ["Xi and Putin meet", "Navies drill together"]


def test_the_spike_note_shows_only_with_spikes(env, feed_server, monkeypatch) -> None:
    # The seed page: one or two headlines a slot, nothing stands out.
    monkeypatch.setenv("NEWS_OFFLINE", "1")
    at = run()
    captions = [viewer_text(c.value) for c in at.caption if "Click a bar" in c.value]
    assert captions == ["Click a bar or drag across bars to list only that time."]
    # Live: five headlines in the last four hours against a quiet three days before.
    monkeypatch.delenv("NEWS_OFFLINE")
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    (caption,) = [viewer_text(c.value) for c in at.caption if "Click a bar" in c.value]
    assert caption.startswith("▼ marks a spike")


def test_a_new_store_version_replaces_the_index(tmp_path: Path) -> None:
    """The page's index of a topic follows the store; the one it replaces (and its story
    grouping) is freed, not kept beside it in a cache keyed by version."""
    import gc
    import weakref

    from lib.model import Headline, Source, Topic
    from ui import data

    db = str(tmp_path / "news.db")
    url = "https://wire.test/feed"
    topic = Topic("t", "T", "x", "x", "UTC", (Source("Wire", url, topical=True),))

    def headline(title: str, minutes: int) -> Headline:
        return Headline(title, None, "Wire", None, NOW - timedelta(minutes=minutes), url, title)

    data.store(db).save([headline("Pipeline talks resume in Beijing", 10)], NOW)
    first = data.topic_index(db, topic, NOW)
    assert data.topic_index(db, topic, NOW) is first  # same version: the same index
    grouped = first.grouping()
    assert first.grouping() is grouped
    assert [s.lead.title for s in grouped.stories] == ["Pipeline talks resume in Beijing"]
    old = weakref.ref(first)  # the index holds the only reference to its grouping
    del first, grouped

    data.store(db).save([headline("Joint naval drill ends early", 5)], NOW)
    second = data.topic_index(db, topic, NOW)
    assert [entry.headline.title for entry in second.indexed] == [
        "Joint naval drill ends early",
        "Pipeline talks resume in Beijing",
    ]
    # Every headline of the new index narrows in its own grouping.
    assert len(second.grouping().narrow(second.headlines)) == 2
    gc.collect()
    assert old() is None


def test_own_feeds_share_the_topic_index_and_their_indexes_are_bounded(tmp_path: Path) -> None:
    import gc
    import weakref

    from lib.model import Headline, Source, Topic
    from ui import data

    db = str(tmp_path / "news.db")
    wire = "https://wire.test/feed"
    topic = Topic("t", "T", "x", "china", "UTC", (Source("Wire", wire, topical=True),))

    def headline(title: str, minutes: int, source: str) -> Headline:
        when = NOW - timedelta(minutes=minutes)
        return Headline(title, None, "Pub", None, when, source, f"{source}#{title}")

    def own(n: int) -> tuple[Source, ...]:
        return (Source(f"Mine {n}", f"https://own{n}.test/feed", topical=False),)

    store = data.store(db)
    store.save([headline(f"Wire story {n}", n * 10, wire) for n in range(30)], NOW)
    count = data.MAX_OWN_INDEXES + 5
    for n in range(count):  # each viewer feed is stored in its own scope
        url = own(n)[0].url
        store.save([headline("China news", 15, url)], NOW, scope=url)
    store.save([headline("Weather", 16, own(0)[0].url)], NOW, scope=own(0)[0].url)  # off topic
    shared = data.topic_index(db, topic, NOW)
    first = data.page_index(db, topic, own(0), NOW)
    titles = [entry.headline.title for entry in first.indexed]
    assert titles[:3] == ["Wire story 0", "Wire story 1", "China news"]  # newest first
    assert len(titles) == 31 and "Weather" not in titles
    assert dict(first.publications) == {"Pub": 31}
    # The topic's entries are the shared index's own objects: no copy is made.
    assert {id(e) for e in shared.indexed} <= {id(e) for e in first.indexed}
    narrowed = first.grouping().narrow([e.headline for e in first.indexed][2:3])
    assert [story.lead.title for story in narrowed] == ["China news"]
    assert data.page_index(db, topic, (), NOW) is shared
    # Each distinct set of own feeds gets a small index; past the bound the oldest is dropped.
    oldest = weakref.ref(first._parts[1])
    del first, narrowed
    for n in range(1, count):
        data.page_index(db, topic, own(n), NOW)
        assert data.topic_index(db, topic, NOW) is shared
    gc.collect()
    assert oldest() is None


WIRE = "https://wire.test/feed"  # topical: all of its headlines are the topic's
DESK = "https://desk.test/feed"  # not topical: only those matching the query


def grow_topic() -> Topic:
    return Topic(
        "t", "T", "x", "china AND russia", "UTC",
        (Source("Wire", WIRE, topical=True), Source("Desk", DESK)),
    )  # fmt: skip


def news(title: str, at: datetime, source: str = WIRE, pub: str = "Pub") -> Headline:
    return Headline(title, None, pub, None, at, source, f"{source}#{title}")


def read_whole(db: str, topic: Topic, now: datetime) -> data.TopicIndex:
    """The index as a first read of the store makes it."""
    return data._read_index(db, topic, data.store(db).version(), now - WINDOW)


def same_index(grown: data.TopicIndex, fresh: data.TopicIndex) -> None:
    """The same entries in the same order (with their normalised text and row ids), the
    same publication counts, at the same store version."""
    assert [(e.headline.title, e.row) for e in grown.indexed] == [
        (e.headline.title, e.row) for e in fresh.indexed
    ]
    assert grown.indexed == fresh.indexed
    assert grown.publications == fresh.publications
    assert grown.version == fresh.version


def test_an_index_remembers_the_stories_of_its_last_views(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    store = data.store(db)
    # Two reports of one story from two publications, and stories of one report each.
    store.save(
        [
            news(
                "Russia and China sign pipeline deal in Moscow", NOW - timedelta(hours=1), pub="P1"
            ),
            news("Russia, China sign pipeline deal in Moscow", NOW - timedelta(hours=2), pub="P2"),
            *(news(f"Wire {n}", NOW - timedelta(hours=n * 5 + 3), pub="P1") for n in range(8)),
        ],
        NOW,
    )
    index = data.topic_index(db, grow_topic(), NOW)
    headlines = [entry.headline for entry in index.indexed]
    views = {
        "all": headlines,
        "not P2": [item for item in headlines if item.publication != "P2"],
        "P2": [item for item in headlines if item.publication == "P2"],
    }
    for view, kept in views.items():
        assert list(index.stories(view, kept)) == index.grouping().narrow(kept), view
    # Going back to a view seen before gives what was made for it (the same objects).
    first = index.stories("not P2", views["not P2"])
    assert index.stories("not P2", list(views["not P2"])) is first
    assert len(index.stories("all", headlines)[0].headlines) == 2  # one story of two
    # Only the last few views are kept: the oldest is made again.
    for n in range(data.TopicIndex.NARROWED_KEPT):
        index.stories(("other", n), views["P2"])
    again = index.stories("not P2", views["not P2"])
    assert again is not first and again == first


def test_the_topic_index_grows_to_what_a_full_read_gives(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    topic, store = grow_topic(), data.store(db)
    store.save(
        [news(f"Wire {n}", NOW - timedelta(hours=n * 7 + 1), pub=f"P{n % 3}") for n in range(24)],
        NOW,
    )
    store.save([news("China and Russia talk", NOW - timedelta(hours=5), DESK)], NOW)
    first = data.topic_index(db, topic, NOW)
    same_index(first, read_whole(db, topic, NOW))
    assert len(first.indexed) == 25

    def held_again(index: data.TopicIndex, before: data.TopicIndex) -> bool:
        # A grown index holds the entries it had (the same objects): nothing read again.
        return {id(e) for e in before.indexed if e.headline.published >= index.since} <= {
            id(e) for e in index.indexed
        }

    # New headlines: newer ones, late ones (older than many held), two at one time, one
    # off the topic, one before the window, and a viewer's feed's (another scope).
    store.save([news("Newest", NOW - timedelta(minutes=1), pub="P9")], NOW)
    at = NOW - timedelta(hours=30)
    late = [news("Late A", at), news("Late B", at), news("Late C", NOW - timedelta(days=6))]
    store.save([*late, news("Weather", NOW - timedelta(hours=2), DESK)], NOW)
    store.save([news("Mine", NOW, "https://own.test/feed")], NOW, scope="https://own.test/feed")
    second = data.topic_index(db, topic, NOW)
    same_index(second, read_whole(db, topic, NOW))
    assert held_again(second, first) and second is not first
    titles = [e.headline.title for e in second.indexed]
    assert titles[0] == "Newest" and "Weather" not in titles and "Mine" not in titles
    assert titles.index("Late B") + 1 == titles.index("Late A")  # the later row first
    assert data.topic_index(db, topic, NOW) is second  # nothing new: the same index

    # The window moves on (no store change): what left it is dropped, nothing read again.
    later = NOW + timedelta(hours=20)
    moved = data.topic_index(db, topic, later)
    same_index(moved, read_whole(db, topic, later))
    assert held_again(moved, second) and len(moved.indexed) < len(second.indexed)
    # Its stories are the ones made before, narrowed: not grouped again.
    assert moved.grouping() is second.grouping()
    narrowed = moved.grouping().narrow(moved.headlines)
    assert sorted(id(h) for story in narrowed for h in story.headlines) == sorted(
        id(h) for h in moved.headlines
    )
    # Pruned meanwhile (the refresher keeps the window by the same clock), and new headlines.
    assert store.prune(later) > 0
    store.save([news("After prune", later - timedelta(minutes=3))], later)
    pruned = data.topic_index(db, topic, later)
    same_index(pruned, read_whole(db, topic, later))
    assert held_again(pruned, moved)

    # Emptied completely (row ids start again at 1), then filled again.
    empty = NOW + timedelta(days=30)
    assert store.prune(empty) > 0 and store.count() == 0
    assert data.topic_index(db, topic, empty).indexed == ()
    store.save([news("Again", empty - timedelta(minutes=5), pub="Q")], empty)
    store.save([news("China and Russia again", empty - timedelta(hours=1), DESK)], empty)
    again = data.topic_index(db, topic, empty)
    same_index(again, read_whole(db, topic, empty))
    assert [e.headline.title for e in again.indexed] == ["Again", "China and Russia again"]
    assert again.publications == (("Pub", 1), ("Q", 1))

    # A clock set back: the window starts before what is held, so it is read whole.
    back = empty - timedelta(days=1)
    same_index(data.topic_index(db, topic, back), read_whole(db, topic, back))


def test_the_grouping_grows_with_the_index(tmp_path: Path) -> None:
    """After a store change the topic's stories are the held grouping grown by the new
    headlines in their stored stories (not made again), equal to a whole read's."""
    db = str(tmp_path / "news.db")
    topic, store = grow_topic(), data.store(db)
    deal = news("Xi and Putin sign new energy deal in Moscow", NOW - timedelta(hours=5))
    store.save([deal, news("Pipeline talks resume in Beijing", NOW - timedelta(hours=4))], NOW)
    first = data.topic_index(db, topic, NOW)
    assert len(first.grouping().stories) == 2
    copy = news("Putin and Xi sign new energy deal in Moscow", NOW - timedelta(hours=1), pub="AP")
    store.save([copy, news("China and Russia hold naval drills", NOW, DESK)], NOW)
    second = data.topic_index(db, topic, NOW)
    grown = second.grouping()
    assert grown._numbered is not None  # grown from the first, not made from the window
    whole = read_whole(db, topic, NOW).grouping()
    titles = [[h.title for h in s.headlines] for s in grown.narrow(second.headlines)]
    assert titles == [[h.title for h in s.headlines] for s in whole.stories]
    assert titles[1] == [
        "Xi and Putin sign new energy deal in Moscow",
        "Putin and Xi sign new energy deal in Moscow",
    ]
    # The window moves past the first report: the copy leads what is left of its story.
    later = NOW + timedelta(days=7, hours=-3)
    third = data.topic_index(db, topic, later)
    leads = [s.lead.title for s in third.grouping().narrow(third.headlines)]
    assert leads == ["China and Russia hold naval drills", copy.title]


def test_a_viewers_own_feeds_follow_the_growing_topic_index(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    topic, store = grow_topic(), data.store(db)
    mine = Source("Mine", "https://own.test/feed")
    store.save([news("China and Russia wire", NOW - timedelta(hours=1))], NOW)
    copy = Headline("China and Russia scoop", None, "Mine", None, NOW - timedelta(minutes=9),
                    mine.url, "scoop")  # fmt: skip
    store.save([copy, news("Russia weather", NOW, mine.url)], NOW, scope=mine.url)
    first = data.page_index(db, topic, (mine,), NOW)
    assert [e.headline.title for e in first.indexed] == [
        "China and Russia scoop", "China and Russia wire",
    ]  # fmt: skip
    assert dict(first.publications) == {"Pub": 1, "Mine": 1}
    # The topic's feed publishes the viewer's item (same guid): the topic's copy is shown, once.
    store.save([replace(copy, source=WIRE, publication="Pub", title="Scoop, wire copy")], NOW)
    store.save(
        [news("China and Russia late", NOW - timedelta(days=2), mine.url, "Mine")],
        NOW,
        scope=mine.url,
    )
    second = data.page_index(db, topic, (mine,), NOW)
    assert [e.headline.title for e in second.indexed] == [
        "Scoop, wire copy", "China and Russia wire", "China and Russia late",
    ]  # fmt: skip
    assert dict(second.publications) == {"Pub": 2, "Mine": 1}
    assert second.version == store.version()
    assert "Scoop, wire copy" in [story.lead.title for story in second.grouping().stories]
    # The window moves past the viewer's late item: it leaves their index too.
    later = NOW + timedelta(days=5, hours=1)
    third = data.page_index(db, topic, (mine,), later)
    assert [e.headline.title for e in third.indexed] == [
        "Scoop, wire copy",
        "China and Russia wire",
    ]


def test_readers_never_see_a_half_grown_index(tmp_path: Path) -> None:
    """Sessions read the index while another grows it: each index they get holds whole
    saves only, with counts that match its entries."""
    import threading

    from lib.selection import publication_counts

    db = str(tmp_path / "news.db")
    topic, store = grow_topic(), data.store(db)
    batches, size = 40, 25
    store.save([news("Start", NOW - timedelta(days=1))], NOW)
    seen: list[data.TopicIndex] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not done.is_set():
                seen.append(data.topic_index(db, topic, NOW))
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for batch in range(batches):
        minutes = [(n * 37 + batch) % 900 for n in range(size)]  # late ones among new ones
        items = [
            news(f"B{batch} {n}", NOW - timedelta(minutes=m), pub=f"P{n % 4}")
            for n, m in enumerate(minutes)
        ]
        store.save(items, NOW)
    seen.append(data.topic_index(db, topic, NOW))
    done.set()
    for reader in readers:
        reader.join(timeout=60)
    assert not errors
    assert len(seen[-1].indexed) == 1 + batches * size
    for index in {id(i): i for i in seen}.values():
        headlines = [e.headline for e in index.indexed]
        assert index.publications == tuple(publication_counts(headlines))
        assert all(a.published >= b.published for a, b in itertools.pairwise(headlines))
        # The saves held, all of each: "Start" and batches 0..k-1 complete.
        per_batch = Counter(h.title.split()[0] for h in headlines if h.title != "Start")
        assert set(per_batch.values()) <= {size}
        assert sorted(per_batch) == sorted(f"B{n}" for n in range(len(per_batch)))


def shows_what_another_process_stores(at: AppTest, feed_server: FeedServer, store: Store) -> None:
    """Another process stores a headline in `store`; the page's next run lists it first."""
    aggregator = feed_server.url("/agg.xml")
    arrived = Headline("Border crossing reopens", None, "TASS", None,
                       NOW - timedelta(minutes=2), aggregator, "urn:new")  # fmt: skip
    assert store.save([arrived], NOW) == 1  # another process's (or server's) refresh
    at.run()
    assert not at.exception
    assert bucket_titles(at)["In the last half-hour"] == [
        "Border crossing reopens",
        "Xi and Putin meet",
    ]
    assert "TASS (1)" in at.multiselect(key="pubs").options


def test_a_page_run_after_the_store_changes_shows_the_new_headline(
    env: Path, feed_server: FeedServer, monkeypatch
) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    assert "Xi and Putin meet" in page_html(at)
    shows_what_another_process_stores(at, feed_server, Store(env / "news.db"))


def test_a_viewer_feed_cannot_hide_a_topic_headline(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    monkeypatch.setenv("NEWS_ALLOW_PRIVATE_HOSTS", "1")  # the test server is on 127.0.0.1
    scoop = "https://news.test/scoop"
    copy = Item("China and Russia scoop, a copy", NOW - timedelta(minutes=5), link=scoop)
    feed_server.route("/mine.xml", rss([copy]))
    at = add_feed(run(), feed_server.url("/mine.xml"))
    assert "China and Russia scoop, a copy" in page_html(at)
    # The topic's aggregator publishes the same item (guid and link) after the viewer's feed.
    wire = Item("China and Russia scoop - Reuters", NOW - timedelta(minutes=5), link=scoop,
                source="Reuters")  # fmt: skip
    feed_server.route("/agg.xml", rss([*agg_items(), wire]))
    refresh(PERIOD)  # the refresher's next round
    other = page_html(run())  # another viewer: the topic's copy, never the viewer's
    assert "China and Russia scoop" in other and "copy" not in other
    at.run()  # the viewer: the two merged, the item once
    html = page_html(at)
    assert html.count("China and Russia scoop") == 1 and "copy" not in html
    assert "Xi and Putin meet" in html


def stored_before(server: FeedServer) -> Callable[[Path], None]:
    """Fills a store with one of the topic's headlines, as a refresh before the fault did."""

    def fill(path: Path) -> None:
        when = NOW - timedelta(minutes=15)
        item = Headline("Stored before the fault", None, "Wire", None, when,
                        server.url("/agg.xml"), "stored-1")  # fmt: skip
        Store(path).save([item], NOW)

    return fill


@pytest.mark.parametrize("kind", FAULTS)
def test_a_broken_store_is_one_line_on_the_page(env, feed_server, monkeypatch, kind) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    with broken_store(kind, env, stored_before(feed_server)) as path:
        monkeypatch.setenv("NEWS_DB", str(path))
        if kind == "read-only file":  # readable: this server's refresher cannot store
            loop = server.start_refresher(load_settings())
            assert loop is not None
            deadline = monotonic() + 30
            while server.refresher_fault() is None and monotonic() < deadline:
                sleep(0.05)
        at = run()
        assert not at.exception
        html = page_html(at)
        if kind == "read-only file":  # read; the refresher's fault is the line: kept on screen
            (line,) = [e.value for e in at.error]
            assert line.startswith(f"The headline store {path} ") and "NEWS_DB" in line
            assert not at.warning
            assert "Stored before the fault" in html
            assert not any("snapshot" in i.value for i in at.info)
        else:  # cannot be opened at all: the snapshot, labelled as such
            assert not at.error
            (line,) = [viewer_text(w.value) for w in at.warning]
            assert re.fullmatch(
                r"Store unreachable since \d\d:\d\d — showing the bundled snapshot; .*NEWS_DB.* "
                rf"\(the headline store {re.escape(str(path))} .*\)\.",
                line,
            ), line
            (offline,) = [viewer_text(i.value) for i in at.info if "snapshot" in i.value]
            assert "(the headline store cannot be used)" in offline
            assert offline.endswith("Live headlines return when the store can be used again.")
            assert "Serbia is Not a Russian Ally" in html
        at.switch_page("pages/sources.py").run()
        assert not at.exception
        errors = [e.value for e in at.error]
        if kind == "read-only file":  # reading feed states works
            assert errors == [] and len(at.dataframe[0].value) == 3
        else:
            assert len(errors) == 1 and errors[0].startswith(f"The headline store {path} ")


def test_a_store_that_fails_after_the_page_read_it_keeps_the_page(
    env, feed_server, monkeypatch
) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    assert "Gas pipeline deal signed" in page_html(at)
    # The store's path becomes a folder while the server runs (moved away by hand).
    db = env / "news.db"
    db.rename(env / "moved.db")
    db.mkdir()
    at.run()  # the next run reads the feed states afresh, and cannot
    assert not at.exception
    assert "Gas pipeline deal signed" in page_html(at)
    assert not at.error
    (line,) = [viewer_text(w.value) for w in at.warning]
    assert line.startswith("Store unreachable since ")
    since = line.removeprefix("Store unreachable since ")[:5]  # HH:MM, London time
    london = datetime.now(ZoneInfo("Europe/London"))  # when it began: the wall clock
    assert since in {f"{london - timedelta(minutes=m):%H:%M}" for m in (0, 1)}
    assert line[29:] == (
        " — showing what was read before; point NEWS_DB at a file "
        f"(the headline store {db} is a folder, not a file)."
    )
    at.run()  # still failing: the same line, the same time since it began
    assert [viewer_text(w.value) for w in at.warning] == [line]
    assert "Gas pipeline deal signed" in page_html(at)
    # Repaired: the next run is live again, with no line and no restart.
    db.rmdir()
    (env / "moved.db").rename(db)
    at.run()
    assert not at.exception and not at.error
    assert not [w for w in at.warning if "unreachable" in w.value]
    assert "Gas pipeline deal signed" in page_html(at)
    assert at.button(key="refresh")  # the freshness line: the page is live


def test_an_empty_store_waits_for_the_refresher(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = page()  # before the refresher's first round
    assert not at.exception
    assert [viewer_text(i.value) for i in at.info] == [FIRST_TIME]
    assert EMPTY not in texts(at) and bucket_titles(at) == {}
    assert not any(feed_server.hits(path) for path in ("/agg.xml", "/world.xml", "/broken.xml"))
    refresh()  # the refresher's first round
    at.run()
    assert not at.info
    assert bucket_titles(at)["In the last half-hour"] == ["Xi and Putin meet"]


def page() -> AppTest:
    """A viewer opening the page (no refresher round first)."""
    return AppTest.from_file(APP, default_timeout=30).run()


def warnings(at: AppTest) -> list[str]:
    return [viewer_text(w.value) for w in at.warning]


def test_an_empty_store_with_no_refresher_says_so(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    # Refreshers are external, and none runs; a loop would take the feeds within 2 s.
    monkeypatch.setenv("NEWS_REFRESH", "external")
    monkeypatch.setenv("NEWS_REFRESH_EVERY", "1")
    monkeypatch.setenv("NEWS_REFRESH_LEASE", "1")
    at = page()
    assert [viewer_text(i.value) for i in at.info] == [FIRST_TIME]  # too soon to tell
    assert NO_REFRESHER not in warnings(at)
    sleep(3.5)  # a period and a poll with no loop taking a feed
    at.run()
    assert not at.exception
    assert warnings(at) == [NO_REFRESHER] and not at.info
    # A loop starts (one round of it here): the headlines, and the line is gone.
    Refresher(replace(load_settings(), refresh="app"), lambda: datetime.now(UTC)).run_round()
    at.run()
    assert bucket_titles(at)["In the last half-hour"] == ["Xi and Putin meet"]
    assert NO_REFRESHER not in warnings(at)


def test_a_store_no_refresher_works_is_said(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    monkeypatch.setenv("NEWS_REFRESH", "external")
    config = replace(load_settings(), refresh="app")  # for the rounds run here
    wall = datetime.now(UTC)
    store = Store(env / "news.db")
    urls = [source.url for source in load_settings_topic().sources]
    # The last loop worked the store 11 minutes ago: over two periods (10 minutes).
    Refresher(config, lambda: wall - timedelta(minutes=11)).run_round()
    at = page()
    assert not at.exception
    assert NO_REFRESHER in warnings(at)
    assert "Xi and Putin meet" in page_html(at)  # what is stored stays
    Refresher(config, lambda: wall - timedelta(minutes=3)).run_round()  # within two periods
    at.run()
    assert NO_REFRESHER not in warnings(at)
    # Asked 2 minutes ago (longer than a lease and a poll), and no loop took a feed since.
    assert store.request_refresh("china-russia", urls, wall - timedelta(minutes=2))
    at.run()
    assert NO_REFRESHER in warnings(at)
    assert ASKED not in [viewer_text(c.value) for c in at.caption]
    # Asked 10 seconds ago: a loop has a lease to take it up.
    assert store.request_refresh("china-russia", urls, wall - timedelta(seconds=10))
    at.run()
    assert NO_REFRESHER not in warnings(at)
    assert ASKED in [viewer_text(c.value) for c in at.caption]


def load_settings_topic() -> Topic:
    from lib.config import load_topics

    return load_topics(load_settings().topics_path)[0]


def test_refresh_now_asks_the_refresher(env, feed_server, monkeypatch) -> None:
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    refresh(-timedelta(minutes=1))  # the refresher's last round, a minute ago
    at = page()
    assert at.button(key="refresh").disabled is False  # anyone may ask
    fresh = Item("Fresh from the wire", NOW - timedelta(minutes=1))
    feed_server.route("/agg.xml", rss([*agg_items(), fresh]))
    at.button(key="refresh").click().run()
    assert ASKED in [viewer_text(c.value) for c in at.caption]
    assert at.button(key="refresh").disabled  # for 30 s
    assert page().button(key="refresh").disabled  # for everyone
    assert "Fresh from the wire" not in page_html(at)  # nothing fetched in the viewer's run
    assert feed_server.hits("/agg.xml") == 1
    refresh()  # the refresher picks the request up, though its period is not over
    assert feed_server.hits("/agg.xml") == 2
    assert feed_server.hits("/world.xml") == 2
    at.run()
    assert "Fresh from the wire" in page_html(at)
    assert ASKED not in [viewer_text(c.value) for c in at.caption]
    assert at.button(key="refresh").disabled  # refreshed moments ago


def test_headlines_stored_while_the_page_is_open_are_marked_new(
    env, feed_server, monkeypatch
) -> None:
    """What the refresher stores after the page was first drawn is marked new on the next
    run, whenever it was published (a late feed), and said in one line."""
    write_topics(env, feed_server, monkeypatch)
    serve(feed_server)
    at = run()
    assert 'class="np-new"' not in page_html(at)  # a first visit: nothing is new yet
    agg = feed_server.url("/agg.xml")
    late = Headline("Late report from Harbin", "https://x.test/late", "Wire", None,
                    NOW - timedelta(days=2), agg, "late")  # fmt: skip
    fresh = Headline("Fresh report from Kazan", "https://x.test/fresh", "Wire", None,
                     NOW - timedelta(minutes=5), agg, "fresh")  # fmt: skip
    Store(env / "news.db").save([late, fresh], NOW)
    at.run()
    assert not at.exception
    marked = re.findall(r'<li class="np-new"><a[^>]*>(.*?)</a>', page_html(at))
    assert sorted(marked) == ["Fresh report from Kazan", "Late report from Harbin"]
    assert "2 arrived while this page was open, marked in blue" in texts(at)
    at.run()  # still marked on the runs after (filters, paging…), read once
    assert page_html(at).count('class="np-new"') == 2
