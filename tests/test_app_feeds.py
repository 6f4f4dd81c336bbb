"""The feed addresses of a real server (`streamlit run streamlit_app.py`): every view of the
Headlines page as RSS and JSON Feed, read with feedparser and a JSON Feed check, against the
list the page itself shows for the same link (the real page under AppTest, on the same store);
conditional requests, refusals, the client limit, OPML and the sources' state."""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import feedparser
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.opml import parse_opml
from lib.store import Store
from support.feeds import Item, rss
from support.feedserver import FeedServer
from support.servers import app_server
from tests.test_refresher import wait_until

APP = str(Path(__file__).resolve().parent.parent / "navigation.py")
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
PUBLIC = "https://news.example.org/base/"
HOSTILE_TITLE = (
    "<script>alert(1)</script> China & Russia: $5 and $10 **bold** :red[x] "
    "![i](https://evil.test/i.png) Tom &amp; Jerry </title>]]>"
)
HOSTILE_SUMMARY = "<img src=https://evil.test/d.png> China and Russia **x** </description>"


def agg_items() -> list[Item]:
    return [
        Item("Xi and Putin meet - Reuters", NOW - timedelta(minutes=10), source="Reuters"),
        Item("Gas pipeline deal signed - AP", NOW - timedelta(minutes=45), source="AP",
             summary="The deal was signed."),
        Item("Gas pipeline deal signed - Reuters", NOW - timedelta(minutes=50), source="Reuters"),
        Item("Navies drill together - Reuters", NOW - timedelta(hours=3), source="Reuters"),
        Item("Trade hits record - AP", NOW - timedelta(hours=20), source="AP"),
        Item(HOSTILE_TITLE, NOW - timedelta(days=2), source="Evil <b>Times</b> & Co",
             summary=HOSTILE_SUMMARY),
        Item("Too old to list", NOW - timedelta(days=9), source="AP"),
    ]  # fmt: skip


def world_items() -> list[Item]:
    return [
        Item("China and Russia sign treaty", NOW - timedelta(minutes=90)),
        Item("Football results", NOW - timedelta(minutes=20)),  # not about the topic
    ]


def write_topics(path: Path, feeds: FeedServer) -> Path:
    path.write_text(f"""
[[topic]]
slug = "china-russia"
title = "China-Russia news"
about = "x"
query = '(china OR chinese) AND (russia OR russian)'
timezone = "Europe/London"

[[topic.source]]
name = "Aggregator"
url = "{feeds.url("/agg.xml")}"
topical = true

[[topic.source]]
name = "World Desk"
url = "{feeds.url("/world.xml")}"

[[topic]]
slug = "second"
title = "Second topic"
about = "x"
query = "football"

[[topic.source]]
name = "World Desk"
url = "{feeds.url("/world.xml")}"
""")
    return path


class Site:
    def __init__(self, base: str, env: dict[str, str], feeds: FeedServer) -> None:
        self.base, self.env, self.feeds = base, env, feeds
        self.db = Path(env["NEWS_DB"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("subscribe")
    with FeedServer() as feeds:
        feeds.route("/agg.xml", rss(agg_items()))
        feeds.route("/world.xml", rss(world_items()))
        env = {
            "NEWS_TOPICS": str(write_topics(folder / "topics.toml", feeds)),
            "NEWS_DB": str(folder / "news.db"),
            "NEWS_CLOCK": NOW.isoformat(),
            "NEWS_REFRESH_EVERY": "1",
            "NEWS_PUBLIC_URL": PUBLIC,
            "NEWS_FEED_LIMIT": "100000",
        }
        with app_server(env) as base:
            db = Path(env["NEWS_DB"])
            assert wait_until(lambda: db.exists() and Store(db).count() >= 8, timeout=60)
            yield Site(base, env, feeds)


def get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Message, bytes]:
    """Status, headers (any case) and body of a GET."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


# --- what the page lists -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(
    site: Site, params: Mapping[str, str | list[str]], patch: pytest.MonkeyPatch
) -> AppTest:
    """The Headlines page opened with a link's parameters, on the server's store (the
    environment set with `patch`, for this run and the next ones)."""
    for key, value in site.env.items():
        patch.setenv(key, value)
    patch.setenv("NEWS_REFRESH", "external")
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update(params)
    at.run()
    assert not at.exception
    return at


def page_list(site: Site, params: Mapping[str, str | list[str]]) -> list[str]:
    """The titles the Headlines page lists first for a link (each story's first report)."""
    with pytest.MonkeyPatch.context() as patch:
        at = open_page(site, params, patch)
    body = "\n".join(element.proto.body for element in at.html)
    body = re.sub(r"<details.*?</details>", "", body, flags=re.S)  # a story's other reports
    titles = re.findall(r"<li[^>]*><(?:a|span)[^>]*>(.*?)</(?:a|span)>", body)
    return [html.unescape(re.sub(r"</?mark>", "", title)) for title in titles]


VIEWS: list[dict[str, str | list[str]]] = [
    {},
    {"group": "off"},
    {"q": "pipeline OR treaty", "pub_mode": "except", "pubs": ["AP"]},
    {"pub_mode": "only", "pubs": ["Reuters", "AP"], "group": "off", "tz": "utc"},
    {"from": "2024-09-17T00:00:00Z", "to": "2024-09-18T03:00:00Z", "tz": "utc"},
    {"topic": "second"},
    {"q": "nothing-matches-this"},
]


def shown(detail: dict) -> str:
    """What a feed reader shows of a feedparser text construct: HTML is drawn as HTML (our
    titles hold no tags, only entities, so drawing is unescaping), text as it is."""
    value = detail["value"]
    return html.unescape(value) if detail["type"] == "text/html" else value


def titles_of(parsed: feedparser.FeedParserDict) -> list[str]:
    return [shown(entry.title_detail) for entry in parsed.entries]


def check_json_feed(document: dict) -> None:
    """What JSON Feed 1.1 requires, and the types it gives each field we write."""
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and document["title"]
    for key in ("home_page_url", "feed_url"):
        assert urlsplit(document[key]).scheme in ("http", "https"), document[key]
    assert isinstance(document["items"], list)
    ids = [item["id"] for item in document["items"]]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)
    known = {"id", "url", "title", "content_text", "date_published", "authors"}
    for item in document["items"]:
        assert set(item) <= known, item
        assert isinstance(item["content_text"], str)
        assert isinstance(item["title"], str)
        if "url" in item:
            assert urlsplit(item["url"]).scheme in ("http", "https")
        if "date_published" in item:
            assert datetime.fromisoformat(item["date_published"]).tzinfo is not None
        assert all(isinstance(a["name"], str) for a in item["authors"])


@pytest.mark.parametrize("params", VIEWS, ids=lambda p: urlencode(p, doseq=True) or "default")
def test_the_feeds_list_what_the_page_lists(site: Site, params) -> None:
    query = urlencode(params, doseq=True)
    status, headers, body = get(f"{site.base}/feed.rss?{query}")
    assert status == 200, body
    assert headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    rss_feed = feedparser.parse(body)
    assert rss_feed.bozo == 0 and rss_feed.version == "rss20"
    status, headers, body = get(f"{site.base}/feed.json?{query}")
    assert status == 200, body
    assert headers["Content-Type"] == "application/feed+json; charset=utf-8"
    document = json.loads(body)
    check_json_feed(document)

    listed = page_list(site, params)
    assert titles_of(rss_feed) == listed
    assert [item["title"] for item in document["items"]] == listed
    if params.get("q") == "nothing-matches-this":
        assert listed == []
    # Absolute links from the public address, the same query as the page's link.
    tail = f"?{query}" if query else ""
    assert rss_feed.feed.link == document["home_page_url"] == f"{PUBLIC}{tail}"
    assert document["feed_url"] == f"{PUBLIC}feed.json{tail}"


def test_the_page_shows_the_address_of_its_view(site: Site, monkeypatch) -> None:
    at = open_page(site, {"q": "pipeline", "group": "off"}, monkeypatch)
    assert at.toggle(key="group").value is False  # the link's grouping, no warning
    assert not at.warning
    tail = "?q=pipeline&group=off"
    assert [code.value for code in at.code] == [
        f"{PUBLIC}feed.rss{tail}",
        f"{PUBLIC}feed.json{tail}",
    ]
    links = "\n".join(
        element.proto.body for element in at.html if "data-np-feed" in element.proto.body
    )
    assert json.dumps(f"{PUBLIC}feed.rss{tail}") in links
    # The address, asked of the server, lists what the page lists.
    _, _, body = get(f"{site.base}/feed.rss{tail}")
    assert titles_of(feedparser.parse(body)) == page_list(site, {"q": "pipeline", "group": "off"})
    at.toggle(key="group").set_value(True).run()
    assert at.code[0].value == f"{PUBLIC}feed.rss?q=pipeline"
    # A view with nothing in it yet can still be followed.
    empty = open_page(site, {"q": "nothing-yet"}, monkeypatch)
    assert empty.code[0].value == f"{PUBLIC}feed.rss?q=nothing-yet"


def test_grouping_and_items(site: Site) -> None:
    _, _, body = get(f"{site.base}/feed.rss")
    entries = feedparser.parse(body).entries
    grouped = [e for e in entries if shown(e.title_detail) == "Gas pipeline deal signed"]
    (story,) = grouped  # one item for the story, its other report in the description
    assert story.source.title == "Reuters"  # the first report leads
    assert "Also reported" in story.description and "(AP)</li>" in story.description
    assert story.id and story.link.startswith("https://news.test/")
    _, _, body = get(f"{site.base}/feed.rss?group=off")
    titles = titles_of(feedparser.parse(body))
    assert titles.count("Gas pipeline deal signed") == 2
    assert "Too old to list" not in titles and "Football results" not in titles
    document = json.loads(get(f"{site.base}/feed.json?q=treaty")[2])
    (item,) = document["items"]
    assert item["authors"] == [{"name": "World Desk"}]
    assert item["date_published"] == "2024-09-18T01:52:00Z"


def test_hostile_text_comes_out_as_text(site: Site) -> None:
    stored = {h.title: h for h in Store(site.db).headlines(NOW - timedelta(days=8))}
    (title,) = [t for t in stored if "<script>" in t]
    query = urlencode({"q": "bold"})
    status, _, body = get(f"{site.base}/feed.rss?{query}")
    assert status == 200
    (entry,) = feedparser.parse(body).entries
    assert shown(entry.title_detail) == title  # read back as the same text, no markup run
    assert entry.source.title == stored[title].publication
    assert b"<script>" not in body and b"<img" not in body
    raw = get(f"{site.base}/feed.json?{query}")[2]
    assert b"<" not in raw and b">" not in raw  # escaped as \u003c / \u003e
    (item,) = json.loads(raw)["items"]
    assert item["title"] == title
    assert item["authors"] == [{"name": stored[title].publication}]
    assert item["content_text"] == stored[title].summary or Store(site.db).summaries(
        [stored[title].guid]
    ).get(stored[title].guid)


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("zzz=1", 400, "“zzz” is not a setting"),
        ("tz=mars", 400, "Time zone “mars”"),
        ("q=%28china", 400, "Keyword not used"),
        ("q=a&q=b", 400, "Keyword is given 2 times"),
        ("pub_mode=maybe", 400, "Publication filter “maybe”"),
        ("pubs=AP", 400, "without pub_mode"),
        ("from=yesterday&to=2024-09-18T00:00:00Z", 400, "time range"),
        ("from=2024-09-18T00:00:00Z", 400, "time range"),
        ("group=sometimes", 400, "Grouping “sometimes”"),
        ("topic=nope%3Cb%3E", 404, "No topic “nope<b>”; known topics: china-russia, second"),
    ],
)
def test_bad_parameters_are_refused_in_one_line(site: Site, query, status, words) -> None:
    for kind in ("rss", "json"):
        got, headers, body = get(f"{site.base}/feed.{kind}?{query}")
        assert got == status
        assert headers["Content-Type"].startswith("text/plain")
        text = body.decode()
        assert words in text and text.count("\n") == 1, text


def test_opml_and_sources_state(site: Site) -> None:
    status, headers, body = get(f"{site.base}/sources.opml?topic=china-russia")
    assert status == 200 and headers["Content-Type"] == "text/x-opml; charset=utf-8"
    assert parse_opml(body) == [
        ("Aggregator", site.feeds.url("/agg.xml")),
        ("World Desk", site.feeds.url("/world.xml")),
    ]
    status, headers, body = get(f"{site.base}/sources.json?topic=second")
    assert status == 200 and headers["Content-Type"] == "application/json"
    state = json.loads(body)
    assert state["topic"] == "second" and state["sources"] == 1 and state["failing"] == 0
    (feed,) = state["feeds"]
    assert feed["feed"] == site.feeds.url("/world.xml")
    assert feed["http"] == 200 and feed["items_in_feed"] == 2 and feed["kept_for_topic"] == 1
    assert get(f"{site.base}/sources.json?topic=nope")[0] == 404
    assert get(f"{site.base}/sources.opml?q=x")[0] == 400


def test_not_modified_until_a_refresh_stores_something(site: Site) -> None:
    url = f"{site.base}/feed.rss?q=pipeline"
    status, headers, _ = get(url)
    assert status == 200
    tag, modified = headers["ETag"], headers["Last-Modified"]
    assert headers["Cache-Control"] == "public, max-age=60"
    assert parsedate_to_datetime(modified).tzinfo is not None
    assert get(url, {"If-None-Match": tag})[0] == 304
    assert get(url, {"If-Modified-Since": modified})[0] == 304
    assert get(url, {"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
    assert get(f"{site.base}/feed.json?q=pipeline", {"If-None-Match": tag})[0] == 200
    # Refresh rounds that store nothing (the feeds are the same) keep it unchanged.
    hits = site.feeds.hits("/agg.xml")
    assert wait_until(lambda: site.feeds.hits("/agg.xml") >= hits + 2, timeout=30)
    assert get(url, {"If-None-Match": tag})[0] == 304
    # A refresh that stores a headline changes it.
    count = Store(site.db).count()
    later = Item("Pipeline talks resume - AP", NOW - timedelta(minutes=5), source="AP")
    site.feeds.route("/agg.xml", rss([later, *agg_items()]))
    assert wait_until(lambda: Store(site.db).count() > count, timeout=30)
    status, headers, body = get(url, {"If-None-Match": tag})
    assert status == 200 and headers["ETag"] != tag
    assert titles_of(feedparser.parse(body))[0] == "Pipeline talks resume"
    assert get(url, {"If-None-Match": headers["ETag"]})[0] == 304


def test_a_client_over_its_limit_waits(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.route("/a.xml", rss([]))
    topics = tmp_path / "t.toml"
    topics.write_text(
        '[[topic]]\nslug = "t"\ntitle = "T"\nabout = "x"\nquery = "x"\n'
        f'[[topic.source]]\nname = "A"\nurl = "{feed_server.url("/a.xml")}"\ntopical = true\n'
    )
    env = {"NEWS_TOPICS": str(topics), "NEWS_DB": str(tmp_path / "news.db"),
           "NEWS_REFRESH": "external", "NEWS_FEED_LIMIT": "3"}  # fmt: skip
    with app_server(env) as base:
        answers = [get(f"{base}/feed.json") for _ in range(3)]
        assert [status for status, _, _ in answers] == [200, 200, 200]
        # No NEWS_PUBLIC_URL: the links start with the address the request came to.
        assert json.loads(answers[0][2])["feed_url"] == f"{base}/feed.json"
        status, headers, body = get(f"{base}/feed.rss")
        assert status == 429
        assert 1 <= int(headers["Retry-After"]) <= 20  # one request every 20 s
        assert body.decode().startswith("Too many requests: at most 3 a minute")
        assert get(f"{base}/sources.opml")[0] == 429
        assert get(f"{base}/health")[0] == 200  # the limit is the feed addresses'
