"""Every kind of feed failure, provoked for real, and the advice the Sources page gives for it.

One topic holds a feed per failure: a real HTTP server on 127.0.0.1 answers each the way a
broken publisher would (401, 404, a web page, a body too large, a redirect loop, a feed that
parses past the time limit, …), a port where nothing listens refuses, an `.invalid` host does
not resolve, and https to the plain server fails its TLS handshake. One round of the real
refresher loop fetches them all; the real Sources page (AppTest) then shows each row. The
advice is the one each failure got before failures had kinds, except the 401's (issue 12).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import lib.parse.pool
from lib.config import load_settings
from lib.errors import FailureKind
from lib.refresher import Refresher
from lib.store import Store
from support.feeds import Item, rss
from support.feedserver import FeedServer
from tests.test_parsepool import slow_to_parse
from ui import server

APP = str(Path(__file__).resolve().parent.parent / "navigation.py")
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
DEADLINE = 3  # NEWS_FETCH_DEADLINE: the silent server times out after it

MOVED = (
    "The feed moved or is gone: find its current address on the publisher's site and update "
    "the topics file."
)
REFUSES = (
    "The server refuses the app (login or bot blocking): use another feed of the same "
    "publisher, or drop this one."
)
SLOW_DOWN = (
    "The server asked the app to slow down; it is asked again only after the time it gave. "
    "Nothing to do unless it lasts days."
)
SERVER_PROBLEM = (
    "The publisher's server has a problem, usually passing. Nothing to do unless it lasts a "
    "day; then check the feed address."
)
SERVER_ERROR = (
    "The server answered with an error: open the feed address in a browser to see what it says."
)
TIMEOUT = "The server is too slow: if this lasts, raise NEWS_FETCH_DEADLINE or drop the feed."
DNS = (
    "The address does not resolve: check it for typos, or whether the site still exists; "
    "check the host's network if every feed says this."
)
NOTHING_ANSWERS = (
    "Nothing answers at that address: check the port and the address; if every feed says "
    "this, the app's host is offline."
)
TLS = (
    "The site's secure connection failed (certificate or TLS problem at the publisher): try "
    "the http:// address or another feed."
)
REDIRECTS = (
    "The address redirects badly: open it in a browser and put the final feed address in the "
    "topics file."
)
TOO_LARGE = (
    "The feed is bigger than the app accepts: use a smaller feed of the same site (a section feed)."
)
WEB_PAGE = (
    "The address is a web page, not a feed: look on that page for its RSS or Atom link and "
    "use that address."
)
JSON = "The address gives JSON, not RSS or Atom: look for the site's RSS feed."
BROKEN = (
    "The feed is broken at the publisher: headlines read before stay; check again later or "
    "report it to them."
)
EMPTY = "The server sent nothing: check the address; it may work again later."
DECOMPRESS = "The server sent a broken compressed response: usually passing."
GENERIC = "Open the feed address in a browser to see what it gives; it may work next time."


@dataclass(frozen=True)
class Case:
    """A feed that fails one way: what the page says is wrong and what to do."""

    name: str
    kind: FailureKind
    advice: str
    error: str | None = None  # the whole "Last error" cell, when it is the same every run
    http: int | None = None


def _hang_up(handler: BaseHTTPRequestHandler) -> None:
    """Promise a body and close the connection a few bytes into it."""
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.write(b"<rss>")
    handler.wfile.flush()


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Abort the connection (an RST, not a close) before answering."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()


def _free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BIG = 8 * 1024 * 1024 + 1  # one byte over the download cap
FEED = rss([Item("A headline", NOW)])
CASES = (
    Case("401", FailureKind.HTTP, REFUSES, "HTTP 401 Unauthorized", 401),  # was MOVED
    Case("403", FailureKind.HTTP, REFUSES, "HTTP 403 Forbidden", 403),
    Case("404", FailureKind.HTTP, MOVED, "HTTP 404 Not Found", 404),
    Case("410", FailureKind.HTTP, MOVED, "HTTP 410 Gone", 410),
    Case("429", FailureKind.HTTP, SLOW_DOWN, "HTTP 429 Too Many Requests", 429),
    Case("500", FailureKind.HTTP, SERVER_PROBLEM, "HTTP 500 Internal Server Error", 500),
    Case("503", FailureKind.HTTP, SERVER_PROBLEM, "HTTP 503 Service Unavailable", 503),
    Case("400", FailureKind.HTTP, SERVER_ERROR, "HTTP 400 Bad Request", 400),
    Case("unasked 304", FailureKind.UNASKED_304, GENERIC, http=304,
         error="server answered 304 Not Modified to a request without validators"),
    Case("silent", FailureKind.TIMEOUT, TIMEOUT, f"timed out after {DEADLINE} s"),
    Case("refused", FailureKind.REFUSED, NOTHING_ANSWERS, "connection refused — is the server up?"),
    Case("resets", FailureKind.RESET, NOTHING_ANSWERS, "connection reset by the server"),
    Case("hangs up", FailureKind.CLOSED, NOTHING_ANSWERS,
         "connection closed before the whole feed arrived"),
    Case("unresolvable", FailureKind.DNS, DNS,
         "host not found (DNS lookup failed) — check the address"),
    Case("tls", FailureKind.TLS, TLS),
    Case("bad gzip", FailureKind.DECOMPRESS, DECOMPRESS,
         "could not decompress the response (bad gzip/deflate data)"),
    Case("too large", FailureKind.TOO_LARGE, TOO_LARGE,
         "feed larger than 8 MiB (after decompression)"),
    Case("redirect loop", FailureKind.REDIRECT_LOOP, REDIRECTS),
    Case("redirect to ftp", FailureKind.BAD_REDIRECT, REDIRECTS,
         "redirected to an address that is not http or https (ftp:)"),
    Case("empty", FailureKind.EMPTY, EMPTY, "empty response", http=200),
    Case("blank", FailureKind.EMPTY, EMPTY, "empty response: the server sent no feed", http=200),
    Case("web page", FailureKind.HTML, WEB_PAGE,
         "got an HTML page, not a feed — check the feed URL", http=200),
    Case("json", FailureKind.JSON, JSON,
         "got JSON, not an RSS or Atom feed — check the feed URL", http=200),
    Case("text", FailureKind.NOT_XML, BROKEN,
         "not a feed: the response is not XML (it begins: hello, world)", http=200),
    Case("other xml", FailureKind.NOT_A_FEED, BROKEN,
         "XML but not a feed: the root element is <note>, not <rss>, <feed> or <rdf:RDF>",
         http=200),
    Case("entities", FailureKind.ENTITIES, BROKEN,
         "feed declares XML entities, which are not allowed", http=200),
    Case("cut off", FailureKind.CUT_OFF, GENERIC,
         "feed is cut off before its first item (line 1)", http=200),
    Case("slow to parse", FailureKind.PARSE_TIMEOUT, BROKEN,
         "parsing took longer than 1 s; the feed may be malformed", http=200),
)  # fmt: skip


def serve(feeds: FeedServer) -> dict[str, str]:
    """Route every failing feed on `feeds`; the feed URL of each case, by name."""
    feeds.route("/401", b"login first", status=401)
    feeds.route("/403", b"no bots", status=403)
    feeds.route("/404", b"gone", status=404)
    feeds.route("/410", b"gone for good", status=410)
    feeds.route("/429", b"slow down", status=429, headers={"Retry-After": "600"})
    feeds.route("/500", b"oops", status=500)
    feeds.route("/503", b"later", status=503)
    feeds.route("/400", b"what?", status=400)
    feeds.route("/304", b"", status=304)
    feeds.route("/silent", FEED, delay=60)
    feeds.route_handler("/hangs-up", _hang_up)
    feeds.route_handler("/resets", _reset)
    feeds.route("/bad-gzip", b"this is not gzip data", headers={"Content-Encoding": "gzip"})
    feeds.route("/too-large", b"x" * BIG)
    feeds.route("/loop", b"", status=302, headers={"Location": "/loop"})
    feeds.route("/to-ftp", b"", status=302, headers={"Location": "ftp://example.com/feed"})
    feeds.route("/empty", b"")
    feeds.route("/blank", b"   \n  ")
    page = b"<!DOCTYPE html><html><head><title>News</title></head><body>hi</body></html>"
    feeds.route("/web-page", page, content_type="text/html")
    feeds.route("/json", b'{"items": []}', content_type="application/json")
    feeds.route("/text", b"hello, world", content_type="text/plain")
    feeds.route("/other-xml", b"<?xml version='1.0'?><note>hi</note>")
    entities = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss>&x;</rss>'
    feeds.route("/entities", entities)
    feeds.route("/cut-off", b'<rss version="2.0"><channel><title>x</title>')
    feeds.route("/slow-to-parse", slow_to_parse(1024))
    urls = {case.name: feeds.url("/" + case.name.replace(" ", "-")) for case in CASES}
    urls["unasked 304"] = feeds.url("/304")
    urls["refused"] = f"http://127.0.0.1:{_free_port()}/feed.xml"
    urls["unresolvable"] = "http://feeds.example.invalid/rss.xml"
    urls["tls"] = f"https://127.0.0.1:{feeds.port}/404"
    urls["redirect to ftp"] = feeds.url("/to-ftp")
    urls["redirect loop"] = feeds.url("/loop")
    return urls


def topics(urls: dict[str, str]) -> str:
    sources = "".join(
        f'\n[[topic.source]]\nname = "{name}"\nurl = "{url}"\n' for name, url in urls.items()
    )
    return f"""
[[topic]]
slug = "failures"
title = "Failures"
about = "Every way a feed fails."
query = "headline"
timezone = "UTC"
{sources}"""


@pytest.fixture(scope="module")
def sources_table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pd.DataFrame]:
    """The Sources page's table after one refresher round over every failing feed."""
    folder = tmp_path_factory.mktemp("failures")
    pool = lib.parse.pool.ParsePool(time_limit=1, size=2)
    with FeedServer() as feeds, pytest.MonkeyPatch.context() as patch:
        path = folder / "topics.toml"
        path.write_text(topics(serve(feeds)))
        patch.setenv("NEWS_TOPICS", str(path))
        patch.setenv("NEWS_DB", str(folder / "news.db"))
        patch.setenv("NEWS_CLOCK", NOW.isoformat())
        patch.setenv("NEWS_FETCH_DEADLINE", str(DEADLINE))
        patch.delenv("NEWS_OFFLINE", raising=False)
        patch.setattr(lib.parse.pool, "PARSE_POOL", pool)
        st.cache_data.clear()
        st.cache_resource.clear()
        try:
            Refresher(load_settings(), lambda: datetime.now(UTC)).run_round()
            at = AppTest.from_file(APP, default_timeout=60).run()
            at.switch_page("pages/sources.py").run()
            assert not at.exception
            warnings = [w.value for w in at.warning]
            assert f"{len(CASES)} of {len(CASES)} sources are failing" in " ".join(warnings)
            table = at.dataframe[0].value.set_index("Source")
            table.attrs["db"] = folder / "news.db"
            yield table
        finally:
            pool.shutdown()
            server.stop_refresher()
            st.cache_data.clear()
            st.cache_resource.clear()


def test_every_case_is_a_feed_of_the_topic(sources_table: pd.DataFrame) -> None:
    assert sorted(sources_table.index) == sorted(case.name for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_sources_page_gives_the_advice_of_each_kind(
    case: Case, sources_table: pd.DataFrame
) -> None:
    row = sources_table.loc[case.name]
    assert row["What to do"] == case.advice
    assert str(row["Status"]).startswith("failing since")
    if case.error is not None:
        assert row["Last error"] == case.error
    if case.http is not None:
        assert row["HTTP"] == case.http
    else:
        assert pd.isna(row["HTTP"])


def test_the_store_keeps_each_kind(sources_table: pd.DataFrame) -> None:
    store = Store(sources_table.attrs["db"])
    states = store.feed_states(list(sources_table["Feed"]))
    kinds = {name: states[url].kind for name, url in sources_table["Feed"].items()}
    assert kinds == {case.name: case.kind for case in CASES}
