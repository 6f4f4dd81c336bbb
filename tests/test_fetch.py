"""lib/fetch.py against a real HTTP server on 127.0.0.1 (support/feedserver.py)."""

from __future__ import annotations

import email.utils
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from requests.adapters import HTTPAdapter

from lib.fetch import (
    USER_AGENT,
    FetchLimits,
    FetchResult,
    FetchStatus,
    Validators,
    fetch_all,
    fetch_one,
    make_session,
)
from lib.netguard import GuardedAdapter
from support.feedserver import FeedServer

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test</title>
<item><title>Serbia is Not a Russian Ally</title><link>https://example.org/a</link></item>
</channel></rss>"""

# Small limits keep the file fast; tests assert outcomes, never precise wall-clock times.
FAST = FetchLimits(connect_timeout=1.0, read_timeout=2.0, deadline=3.0)
SLACK = 2.0  # sanity bound on top of a deadline for a slow machine


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with make_session(FAST) as session:
        yield session


def get(session: requests.Session, url: str, **kwargs: object) -> FetchResult:
    kwargs.setdefault("limits", FAST)
    return fetch_one(session, url, **kwargs)  # type: ignore[arg-type]


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gzip_bomb(megabytes: int) -> bytes:
    """`megabytes` MiB of zeros, gzipped (about 1 KB per MiB), built without the whole input."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


# --- a plain download ---------------------------------------------------------------------


def test_ok_body_content_type_and_final_url(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", RSS, etag='"v1"', last_modified="Tue, 17 Sep 2024 05:00:00 GMT")
    result = get(session, feed_server.url("/feed.xml"))
    assert result.status is FetchStatus.OK and result.ok
    assert result.body == RSS
    assert result.http_status == 200
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.final_url == feed_server.url("/feed.xml")
    assert result.validators == Validators('"v1"', "Tue, 17 Sep 2024 05:00:00 GMT")
    assert result.error is None
    assert result.elapsed_ms > 0


def test_sends_honest_user_agent_accept_and_encoding(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", RSS)
    get(session, feed_server.url("/feed.xml"))
    [(path, headers)] = feed_server.requests
    assert path == "/feed.xml"
    assert headers["User-Agent"] == USER_AGENT
    assert "topic-news-page" in USER_AGENT and "+https://" in USER_AGENT
    assert headers["Accept"].startswith("application/rss+xml, application/atom+xml")
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers


def test_gzip_body_is_decoded(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", RSS * 50, gzip=True)
    result = get(session, feed_server.url("/feed.xml"))
    assert result.status is FetchStatus.OK
    assert result.body == RSS * 50


def test_empty_body_is_a_failure(feed_server: FeedServer, session) -> None:
    feed_server.route("/empty.xml", b"")
    result = get(session, feed_server.url("/empty.xml"))
    assert result.status is FetchStatus.FAILED and not result.ok
    assert result.error == "empty response"
    assert result.http_status == 200


def test_not_a_web_address(session) -> None:
    result = get(session, "file:///etc/passwd")
    assert result.status is FetchStatus.FAILED
    assert result.error == "not an http or https address (file:)"


# --- conditional GET ----------------------------------------------------------------------


def test_etag_round_trip(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", RSS, etag='"abc"')
    first = get(session, feed_server.url("/feed.xml"))
    assert first.status is FetchStatus.OK and first.validators.etag == '"abc"'

    second = get(session, feed_server.url("/feed.xml"), validators=first.validators)
    assert second.status is FetchStatus.NOT_MODIFIED and second.ok
    assert second.http_status == 304
    assert second.body is None
    assert second.validators.etag == '"abc"'
    assert feed_server.requests[1][1]["If-None-Match"] == '"abc"'


def test_last_modified_round_trip(feed_server: FeedServer, session) -> None:
    stamp = "Tue, 17 Sep 2024 05:00:00 GMT"
    feed_server.route("/feed.xml", RSS, last_modified=stamp)
    first = get(session, feed_server.url("/feed.xml"))
    assert first.validators == Validators(None, stamp)

    second = get(session, feed_server.url("/feed.xml"), validators=first.validators)
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.validators.last_modified == stamp
    sent = feed_server.requests[1][1]
    assert sent["If-Modified-Since"] == stamp
    assert "If-None-Match" not in sent


def test_changed_feed_comes_back_in_full(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", RSS, etag='"v2"')
    result = get(session, feed_server.url("/feed.xml"), validators=Validators('"v1"'))
    assert result.status is FetchStatus.OK and result.body == RSS
    assert result.validators.etag == '"v2"'


def test_304_without_validators_is_a_failure(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", status=304)
    result = get(session, feed_server.url("/feed.xml"))
    assert result.status is FetchStatus.FAILED
    assert result.http_status == 304
    assert result.error is not None and "304 Not Modified" in result.error


# --- HTTP errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words"),
    [(500, "HTTP 500 Internal Server Error"), (404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone")],
)
def test_http_error_keeps_status(feed_server: FeedServer, session, status: int, words: str) -> None:
    feed_server.route("/feed.xml", b"oops", status=status, content_type="text/plain")
    result = get(session, feed_server.url("/feed.xml"))
    assert result.status is FetchStatus.FAILED
    assert result.http_status == status
    assert result.error == words
    assert result.body is None
    assert result.retry_after is None


def test_unknown_path_is_404(feed_server: FeedServer, session) -> None:
    result = get(session, feed_server.url("/nothing-here"))
    assert (result.http_status, result.error) == (404, "HTTP 404 Not Found")


def test_503_retry_after_seconds(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", status=503, headers={"Retry-After": "120"})
    result = get(session, feed_server.url("/feed.xml"))
    assert result.error == "HTTP 503 Service Unavailable"
    assert result.retry_after == 120.0


def test_429_retry_after_http_date(feed_server: FeedServer, session) -> None:
    later = email.utils.formatdate(time.time() + 300, usegmt=True)
    feed_server.route("/feed.xml", status=429, headers={"Retry-After": later})
    result = get(session, feed_server.url("/feed.xml"))
    assert result.error == "HTTP 429 Too Many Requests"
    assert result.retry_after is not None and 240 < result.retry_after <= 301


def test_unreadable_retry_after_is_ignored(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", status=503, headers={"Retry-After": "soon"})
    assert get(session, feed_server.url("/feed.xml")).retry_after is None


# --- redirects ----------------------------------------------------------------------------


def test_redirect_chain_of_three(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", RSS)
    feed_server.route("/r1", status=301, headers={"Location": feed_server.url("/r2")})
    feed_server.route("/r2", status=302, headers={"Location": "r3"})  # relative
    feed_server.route("/r3", status=308, headers={"Location": "/feed.xml"})
    result = get(session, feed_server.url("/r1"))
    assert result.status is FetchStatus.OK and result.body == RSS
    assert result.final_url == feed_server.url("/feed.xml")
    assert [path for path, _ in feed_server.requests] == ["/r1", "/r2", "/r3", "/feed.xml"]


def hops(server: FeedServer, count: int) -> str:
    """A chain of `count` redirects ending at /feed.xml; returns the first URL."""
    server.route("/feed.xml", RSS)
    for i in range(count):
        target = f"/hop{i + 1}" if i + 1 < count else "/feed.xml"
        server.route(f"/hop{i}", status=302, headers={"Location": target})
    return server.url("/hop0")


def test_five_redirects_are_allowed(feed_server: FeedServer, session) -> None:
    assert get(session, hops(feed_server, 5)).status is FetchStatus.OK


def test_six_redirects_are_too_many(feed_server: FeedServer, session) -> None:
    result = get(session, hops(feed_server, 6))
    assert result.status is FetchStatus.FAILED
    assert result.error == "too many redirects (more than 5)"
    assert feed_server.hits("/feed.xml") == 0


def test_redirect_loop(feed_server: FeedServer, session) -> None:
    feed_server.route("/a", status=302, headers={"Location": "/b"})
    feed_server.route("/b", status=302, headers={"Location": "/a"})
    result = get(session, feed_server.url("/a"))
    assert result.status is FetchStatus.FAILED
    assert result.error is not None and result.error.startswith("redirect loop")
    assert feed_server.hits("/a") == 1 and feed_server.hits("/b") == 1


@pytest.mark.parametrize("target", ["ftp://example.org/feed.xml", "file:///etc/passwd"])
def test_redirect_to_other_scheme(feed_server: FeedServer, session, target: str) -> None:
    feed_server.route("/feed.xml", status=301, headers={"Location": target})
    result = get(session, feed_server.url("/feed.xml"))
    assert result.status is FetchStatus.FAILED
    assert result.error is not None
    assert result.error.startswith("redirected to an address that is not http or https")


# --- size cap -----------------------------------------------------------------------------


def test_body_over_the_cap(feed_server: FeedServer, session) -> None:
    feed_server.route("/big.xml", b"x" * 5000)
    result = get(session, feed_server.url("/big.xml"), limits=FetchLimits(max_bytes=4096))
    assert result.status is FetchStatus.FAILED
    assert result.error == "feed larger than 4 KiB (after decompression)"


def test_body_over_the_cap_without_content_length(feed_server: FeedServer, session) -> None:
    def no_length(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(b"x" * 5000)  # ends when the connection closes

    feed_server.route_handler("/big.xml", no_length)
    result = get(session, feed_server.url("/big.xml"), limits=FetchLimits(max_bytes=4096))
    assert result.error == "feed larger than 4 KiB (after decompression)"


def test_body_at_the_cap_is_fine(feed_server: FeedServer, session) -> None:
    feed_server.route("/big.xml", b"x" * 4096, gzip=True)
    result = get(session, feed_server.url("/big.xml"), limits=FetchLimits(max_bytes=4096))
    assert result.status is FetchStatus.OK and len(result.body or b"") == 4096


def test_gzip_bomb_stops_at_the_cap(feed_server: FeedServer, session) -> None:
    bomb = gzip_bomb(50)
    assert len(bomb) < 200_000
    feed_server.route("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        result = get(session, feed_server.url("/bomb.xml"), limits=FetchLimits(max_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status is FetchStatus.FAILED
    assert result.error == "feed larger than 1 MiB (after decompression)"
    assert peak < 8 << 20, f"inflated {peak / (1 << 20):.0f} MiB for a 1 MiB cap"


def test_corrupt_gzip(feed_server: FeedServer, session) -> None:
    feed_server.route("/feed.xml", b"this is not gzip", headers={"Content-Encoding": "gzip"})
    result = get(session, feed_server.url("/feed.xml"))
    assert result.status is FetchStatus.FAILED
    assert result.error is not None and result.error.startswith("could not decompress")


# --- network errors -----------------------------------------------------------------------


def test_connection_refused(session) -> None:
    result = get(session, f"http://127.0.0.1:{unused_port()}/feed.xml")
    assert result.status is FetchStatus.FAILED
    assert result.error is not None and result.error.startswith("connection refused")
    assert result.http_status is None


def test_dns_failure(session) -> None:
    result = get(session, "http://feed.example.invalid/rss")
    assert result.status is FetchStatus.FAILED
    assert result.error is not None and result.error.startswith(
        "host not found (DNS lookup failed)"
    )


def test_tls_error(feed_server: FeedServer, session) -> None:
    # https to a plain-http port: the handshake fails.
    result = get(session, feed_server.url("/feed.xml").replace("http://", "https://"))
    assert result.status is FetchStatus.FAILED
    assert result.error is not None and result.error.startswith("TLS/SSL error: ")


def test_connection_closed_mid_body(feed_server: FeedServer, session) -> None:
    def cut_short(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "10000")
        handler.end_headers()
        handler.wfile.write(RSS)

    feed_server.route_handler("/feed.xml", cut_short)
    result = get(session, feed_server.url("/feed.xml"))
    assert result.status is FetchStatus.FAILED
    assert result.error == "connection closed before the whole feed arrived"


def test_read_timeout(feed_server: FeedServer, session) -> None:
    feed_server.route("/slow.xml", RSS, delay=5.0)
    limits = FetchLimits(read_timeout=0.3, deadline=3.0)
    result = get(session, feed_server.url("/slow.xml"), limits=limits)
    assert result.error == "timed out after 0.3 s waiting for the server"


# --- the deadline -------------------------------------------------------------------------


def test_trickle_trips_the_deadline_not_the_read_timeout(feed_server: FeedServer, session) -> None:
    # 10 bytes every 0.05 s: well within the read timeout, but 2000 bytes take 10 s.
    feed_server.route("/trickle.xml", b"x" * 2000, trickle=(10, 0.05))
    limits = FetchLimits(read_timeout=1.0, deadline=0.7)
    started = time.monotonic()
    result = get(session, feed_server.url("/trickle.xml"), limits=limits)
    assert time.monotonic() - started < limits.deadline + SLACK
    assert result.status is FetchStatus.FAILED
    assert result.error == "timed out after 0.7 s"


def test_slow_source_does_not_hold_back_fast_one(feed_server: FeedServer) -> None:
    feed_server.route("/fast.xml", RSS)
    feed_server.route("/slow.xml", RSS, delay=10.0)
    limits = FetchLimits(read_timeout=10.0, deadline=0.8)
    urls = [feed_server.url("/slow.xml"), feed_server.url("/fast.xml")]
    started = time.monotonic()
    slow, fast = fetch_all(urls, limits=limits)
    assert time.monotonic() - started < limits.deadline + SLACK
    assert fast.status is FetchStatus.OK and fast.body == RSS
    assert slow.status is FetchStatus.FAILED and slow.error == "timed out after 0.8 s"
    assert slow.url == urls[0]


class StuckSession(requests.Session):
    """A session whose requests hang, as one stuck in DNS resolution would."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        self.release.wait(10)
        raise requests.ConnectionError("released")


def test_fetch_all_returns_by_the_deadline_while_a_worker_is_stuck() -> None:
    release = threading.Event()
    limits = FetchLimits(deadline=0.5)
    done: list[FetchResult] = []
    started = time.monotonic()
    try:
        results = fetch_all(
            ["http://stuck.example/feed"],
            limits=limits,
            session=StuckSession(release),
            on_done=done.append,
        )
    finally:
        release.set()
    assert time.monotonic() - started < limits.deadline + SLACK
    assert [r.error for r in results] == ["timed out after 0.5 s"]
    assert done == results


# --- fetch_all ----------------------------------------------------------------------------


def test_results_in_input_order_with_one_on_done_each(feed_server: FeedServer) -> None:
    feed_server.route("/a.xml", b"A", delay=0.3)  # finishes last, listed first
    feed_server.route("/b.xml", b"B")
    feed_server.route("/c.xml", status=500)
    feed_server.route("/d.xml", b"D", etag='"d"')
    urls = [feed_server.url(p) for p in ("/a.xml", "/b.xml", "/c.xml", "/d.xml")]
    urls.append(f"http://127.0.0.1:{unused_port()}/e.xml")
    done: list[FetchResult] = []
    lock = threading.Lock()

    def on_done(result: FetchResult) -> None:
        with lock:
            done.append(result)

    results = fetch_all(urls, {urls[3]: Validators('"d"')}, limits=FAST, on_done=on_done)
    assert [r.url for r in results] == urls
    assert [r.status for r in results] == [
        FetchStatus.OK,
        FetchStatus.OK,
        FetchStatus.FAILED,
        FetchStatus.NOT_MODIFIED,
        FetchStatus.FAILED,
    ]
    assert [r.body for r in results[:2]] == [b"A", b"B"]
    assert sorted(r.url for r in done) == sorted(urls)
    assert done[-1].url == urls[0]  # the slow one reported last, as it completed


def test_fetch_all_of_nothing() -> None:
    assert fetch_all([]) == []


def test_fetch_all_many_sources_share_one_session(feed_server: FeedServer) -> None:
    for i in range(40):
        feed_server.route(f"/f{i}.xml", RSS)
    urls = [feed_server.url(f"/f{i}.xml") for i in range(40)]
    results = fetch_all(urls, limits=FetchLimits(workers=8, deadline=5.0))
    assert all(r.status is FetchStatus.OK for r in results)
    assert sum(feed_server.hits(f"/f{i}.xml") for i in range(40)) == 40


def test_fetch_all_asks_forty_sources_at_once_by_default(feed_server: FeedServer) -> None:
    # Each handler waits at a barrier of 40: it only opens if all 40 requests are in flight
    # together; asked in waves (fewer workers than sources), it breaks and they answer 503.
    barrier = threading.Barrier(40, timeout=5.0)

    def together(handler: BaseHTTPRequestHandler) -> None:
        try:
            barrier.wait()
            status, body = 200, RSS
        except threading.BrokenBarrierError:
            status, body = 503, b"asked in waves"
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    for i in range(40):
        feed_server.route_handler(f"/f{i}.xml", together)
    urls = [feed_server.url(f"/f{i}.xml") for i in range(40)]
    results = fetch_all(urls, limits=FetchLimits(deadline=10.0))
    assert [r.status for r in results] == [FetchStatus.OK] * 40


def test_the_default_session_pool_fits_the_default_workers() -> None:
    limits = FetchLimits()
    with make_session(limits) as session:
        adapter = session.get_adapter("http://example.org/")
        # A smaller pool would open and drop a connection per request beyond its size.
        assert adapter._pool_maxsize >= limits.workers >= 40  # type: ignore[attr-defined]


def test_make_session_pool_fits_workers() -> None:
    with make_session(FetchLimits(workers=24)) as session:
        adapter = session.get_adapter("https://example.org/")
        assert adapter._pool_maxsize >= 24  # type: ignore[attr-defined]
        assert adapter.max_retries.total == 0  # type: ignore[attr-defined]
        assert session.headers["User-Agent"] == USER_AGENT


# --- feeds added by users (lib/netguard.py) ----------------------------------------------

PUBLIC = "feeds must be on the public internet"
LOOPBACK = f"127.0.0.1 is a loopback address (this machine); {PUBLIC}"


def test_user_feed_on_loopback_is_refused_before_any_request(
    feed_server: FeedServer, session
) -> None:
    feed_server.route("/feed.xml", RSS)
    result = get(session, feed_server.url("/feed.xml"), allow_private=False)
    assert result.status is FetchStatus.FAILED
    assert result.error == LOOPBACK
    assert feed_server.requests == []


def test_user_feed_on_a_private_network_is_fetched_when_the_operator_allows_it(
    feed_server: FeedServer, session
) -> None:
    feed_server.route("/feed.xml", RSS)
    result = get(session, feed_server.url("/feed.xml"), allow_private=True)
    assert result.status is FetchStatus.OK and result.body == RSS


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a cloud metadata address"),
        ("http://2130706433/", "2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f.1/", "0x7f.1 resolves to 127.0.0.1, a loopback address"),
        ("http://localhost./", "localhost. is this machine"),
        ("file:///etc/passwd", "only http:// and https:// feeds can be added (got file:)"),
        ("javascript:alert(1)", "only http:// and https:// feeds can be added (got javascript:)"),
        ("http://user:pw@example.test/", "with a user name or password (user:pass@)"),
    ],
)
def test_hostile_user_urls_are_failed_results_in_words(session, url: str, words: str) -> None:
    result = get(session, url, allow_private=False)
    assert result.status is FetchStatus.FAILED
    assert result.error is not None and words in result.error
    assert result.http_status is None


def test_every_redirect_hop_of_a_user_feed_is_checked(feed_server: FeedServer, session) -> None:
    # The server is on 127.0.0.1, so private addresses are allowed here; what stays
    # refused (metadata addresses, credentials) shows that each hop is checked.
    feed_server.route("/feed.xml", RSS)
    feed_server.route("/to-metadata", status=302, headers={"Location": "http://169.254.169.254/"})
    with_credentials = feed_server.url("/feed.xml").replace("http://", "http://user:pw@")
    feed_server.route("/to-credentials", status=301, headers={"Location": with_credentials})
    feed_server.route("/fine", status=302, headers={"Location": "/feed.xml"})

    result = get(session, feed_server.url("/to-metadata"), allow_private=True)
    assert (
        result.error == f"redirect refused: 169.254.169.254 is a cloud metadata address; {PUBLIC}"
    )
    result = get(session, feed_server.url("/to-credentials"), allow_private=True)
    assert result.error == (
        "redirect refused: feed addresses with a user name or password (user:pass@) "
        "are not accepted"
    )
    assert feed_server.hits("/feed.xml") == 0
    assert get(session, feed_server.url("/fine"), allow_private=True).body == RSS


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make rebind.test resolve to a public address once, then to 127.0.0.1.

    getaddrinfo is replaced only to play the DNS server: DNS is the environment, not the
    code under test, and no test may depend on a real resolver. Returns what was asked.
    """
    real = socket.getaddrinfo
    asked: list[str] = []

    def answer(host: str, port: object, *args: object, **kwargs: object) -> object:
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        asked.append(host)
        address = "93.184.215.14" if len(asked) == 1 else "127.0.0.1"
        return real(address, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", answer)
    return asked


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_dns_rebinding_is_caught_at_the_connection(
    feed_server: FeedServer, session, rebinding_dns: list[str], scheme: str
) -> None:
    feed_server.route("/feed.xml", RSS)
    result = get(
        session, f"{scheme}://rebind.test:{feed_server.port}/feed.xml", allow_private=False
    )
    assert result.status is FetchStatus.FAILED
    # For https the server speaks plain HTTP: a TLS error would mean the handshake began.
    assert result.error == (
        f"the connection to rebind.test went to 127.0.0.1, a loopback address (this machine); "
        f"{PUBLIC}"
    )
    assert rebinding_dns == ["rebind.test", "rebind.test"]  # the check, then the connect
    assert feed_server.requests == []


def test_fetch_all_checks_only_the_untrusted_urls(feed_server: FeedServer) -> None:
    feed_server.route("/topics.xml", RSS)
    feed_server.route("/user.xml", RSS)
    urls = [feed_server.url("/topics.xml"), feed_server.url("/user.xml"), "javascript:alert(1)"]
    results = fetch_all(urls, limits=FAST, untrusted=urls[1:])
    assert [r.url for r in results] == urls
    assert [(r.status, r.error) for r in results] == [
        (FetchStatus.OK, None),
        (FetchStatus.FAILED, LOOPBACK),
        (FetchStatus.FAILED, "only http:// and https:// feeds can be added (got javascript:)"),
    ]
    assert feed_server.hits("/user.xml") == 0

    allowed = fetch_all(urls[:2], limits=FAST, untrusted=urls[1:], allow_private=True)
    assert [r.body for r in allowed] == [RSS, RSS]


def test_a_trusted_fetch_uses_a_plain_session() -> None:
    # Topics-file feeds pay nothing for the guard: no check, no different adapter.
    with make_session(FAST) as plain, make_session(FAST, allow_private=False) as guarded:
        assert type(plain.get_adapter("https://example.org/")) is HTTPAdapter
        assert plain.trust_env
        adapter = guarded.get_adapter("https://example.org/")
        assert isinstance(adapter, GuardedAdapter) and adapter.allow_private is False
        assert not guarded.trust_env  # no proxy or .netrc password for a visitor's URL
