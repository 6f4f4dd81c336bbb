"""What a feed's state means, in words: the same for the Sources page and check-feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lib.diagnosis import advice, describe_status, source_health
from lib.errors import FailureKind, UnsafeURLError
from lib.model import Source
from lib.netguard import check_url
from lib.refresh import refresh_sources
from lib.store import FeedState, Store
from tests.test_migrations import old_advice

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%H:%M")


# Every kind of failure and the words of its advice (the Sources page's own test of each
# kind, against a real server where one can provoke it, is tests/test_app_failures.py).
ADVICE_WORDS: dict[FailureKind, str] = {
    FailureKind.HTTP: "answered with an error",
    FailureKind.UNASKED_304: "Open the feed address in a browser",
    FailureKind.TIMEOUT: "NEWS_FETCH_DEADLINE",
    FailureKind.DNS: "does not resolve",
    FailureKind.REFUSED: "Nothing answers",
    FailureKind.RESET: "Nothing answers",
    FailureKind.CLOSED: "Nothing answers",
    FailureKind.TLS: "secure connection failed",
    FailureKind.DECOMPRESS: "broken compressed response",
    FailureKind.DOWNLOAD: "Open the feed address in a browser",
    FailureKind.INVALID_ADDRESS: "Open the feed address in a browser",
    FailureKind.SCHEME: "Open the feed address in a browser",
    FailureKind.BAD_REDIRECT: "redirects badly",
    FailureKind.REDIRECT_LOOP: "redirects badly",
    FailureKind.TOO_MANY_REDIRECTS: "redirects badly",
    FailureKind.UNSAFE: "not allowed for a feed added on the page",
    FailureKind.TOO_LARGE: "bigger than the app accepts",
    FailureKind.EMPTY: "The server sent nothing",
    FailureKind.HTML: "RSS or Atom link",
    FailureKind.JSON: "gives JSON",
    FailureKind.ENTITIES: "broken at the publisher",
    FailureKind.NOT_XML: "broken at the publisher",
    FailureKind.NOT_A_FEED: "broken at the publisher",
    FailureKind.MALFORMED: "broken at the publisher",
    FailureKind.CUT_OFF: "Open the feed address in a browser",
    FailureKind.UNREADABLE: "Open the feed address in a browser",
    FailureKind.PARSE_TIMEOUT: "broken at the publisher",
    FailureKind.PARSER_DIED: "Open the feed address in a browser",
    FailureKind.OTHER: "Open the feed address in a browser",
}


def test_every_kind_has_advice_words() -> None:
    assert set(ADVICE_WORDS) == set(FailureKind)


@pytest.mark.parametrize("kind", list(FailureKind))
def test_advice_names_the_next_step(kind: FailureKind) -> None:
    assert ADVICE_WORDS[kind] in advice(kind)


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (404, "moved or is gone"),
        (410, "moved or is gone"),
        (401, "refuses the app (login"),  # was "moved or is gone" before issue 12
        (403, "refuses the app"),
        (407, "refuses the app"),
        (429, "slow down"),
        (500, "usually passing"),
        (503, "usually passing"),
        (400, "answered with an error"),
        (418, "answered with an error"),
    ],
)
def test_http_advice_follows_the_status(status: int, words: str) -> None:
    assert words in advice(FailureKind.HTTP, status)


def test_no_error_no_advice() -> None:
    assert advice(None) == "" and advice(None, 200) == ""


def test_status_words() -> None:
    def status(**kw) -> str:
        fields = {"last_status": "failed", "last_success": None, "failing_since": None,
                  "retry_at": None}  # fmt: skip
        fields.update(kw)
        return describe_status(now=NOW, stamp=stamp, **fields)

    assert status(last_status=None) == "not fetched yet"
    assert status(last_status="ok") == "ok"
    assert status(last_status="not modified") == "not modified"
    assert status(failing_since=NOW) == "failing since 03:22"
    assert status(last_success=NOW - timedelta(hours=1)) == "stale: showing headlines from 02:22"
    later = NOW + timedelta(minutes=10)
    assert status(failing_since=NOW, retry_at=later) == "failing since 03:22; next try 03:32"


def test_source_health_rows() -> None:
    ok = Source("Good", "https://good.test/rss")
    bad = Source("Bad", "https://bad.test/rss")
    states = {
        ok.url: FeedState(
            ok.url, last_status="ok", last_success=NOW, http_status=200, elapsed_ms=12.4, items=30
        ),
        bad.url: FeedState(
            bad.url,
            last_status="failed",
            failing_since=NOW,
            http_status=404,
            last_error="HTTP 404 Not Found",
            kind=FailureKind.HTTP,
        ),
    }
    rows = source_health([ok, bad], states, {ok.url: 7}, NOW, stamp)
    assert rows[0] | {"What to do": ""} == {
        "Source": "Good", "Status": "ok", "Last success": "03:22", "HTTP": 200,
        "Response ms": 12, "Items in feed": 30, "Kept for topic": 7, "Last error": "",
        "What to do": "", "Feed": "https://good.test/rss",
    }  # fmt: skip
    assert rows[1]["Status"] == "failing since 03:22" and rows[1]["Last success"] == "never"
    assert "moved or is gone" in str(rows[1]["What to do"])


def test_two_feeds_of_one_publication_are_told_apart() -> None:
    world = Source("BBC News", "https://feeds.bbci.co.uk/news/world/rss.xml")
    asia = Source("BBC News", "https://feeds.bbci.co.uk/news/world/asia/rss.xml")
    other = Source("NPR", "https://feeds.npr.org/1004/rss.xml")
    rows = source_health([world, asia, other], {}, {}, NOW, stamp)
    assert [row["Source"] for row in rows] == [
        "BBC News (news/world/rss.xml)",
        "BBC News (news/world/asia/rss.xml)",
        "NPR",
    ]


def test_a_feed_never_fetched_says_when_it_will_be() -> None:
    (row,) = source_health([Source("New", "https://new.test/rss")], {}, {}, NOW, stamp)
    assert row["Status"] == "not fetched yet"
    assert row["What to do"] == "Nothing yet: it is fetched at the next refresh."


REFUSED_ADDRESSES = [
    "http://127.0.0.1/feed",  # loopback
    "http://10.1.2.3/feed",  # private
    "ftp://news.test/feed",  # not http(s)
    "http://169.254.1.1/feed",  # link-local
    "http://169.254.169.254/latest",  # cloud metadata
    "http://[::]/feed",  # unspecified
    "http://224.0.0.1/feed",  # multicast
    "http://100.64.0.1/feed",  # shared
    "http://user:secret@news.test/feed",  # credentials
    "http://localhost:8080/feed",
    "http:///feed",  # no host
    "http://[::1/feed",  # not a valid address
]


@pytest.mark.parametrize("url", REFUSED_ADDRESSES)
@pytest.mark.parametrize("redirected", [False, True])
def test_a_refused_address_keeps_the_advice_its_words_had(url: str, redirected: bool) -> None:
    """The URL guard's refusals (feeds added on the page) get the advice the words of each
    got before failures had kinds, from the refusal's rule, not its words."""
    with pytest.raises(UnsafeURLError) as caught:
        check_url(url, allow_private=False)
    error = caught.value
    if redirected:
        error = UnsafeURLError(url, error.kind, **error.data, redirected=True)
    assert advice(error.kind, None, error.data).startswith(old_advice(error.problem))


def test_a_viewer_feed_refused_by_the_guard_shows_its_advice(tmp_path) -> None:
    store = Store(tmp_path / "news.db")
    mine = [Source("Mine", "http://127.0.0.1:9/feed"), Source("Odd", "http://169.254.1.1/feed")]
    urls = [source.url for source in mine]
    refresh_sources("t", mine, store, NOW, untrusted=urls)
    states = store.feed_states(urls, urls)
    assert [state.failure_data["rule"] for state in states.values()] == ["loopback", "link-local"]
    rows = source_health(mine, states, {}, NOW, stamp)
    assert rows[0]["What to do"].startswith("That address is not allowed")
    assert rows[1]["What to do"].startswith("Open the feed address in a browser")
    assert rows[1]["Last error"] == (
        "169.254.1.1 is a link-local address; feeds must be on the public internet"
    )
