"""Failures as kinds: each kind's words, made from its data in one place, and every error
pickling back to itself (parse workers hand real errors back)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lib.errors import (
    ConfigError,
    FailureKind,
    FeedError,
    FetchError,
    ParseError,
    QuerySyntaxError,
    StoreError,
    UnsafeURLError,
)
from lib.fetch import FetchStatus
from lib.store import FeedFailure, FeedSuccess, Store

URL = "https://news.test/feed.xml"
NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)

# Each kind with its data, and the exact words the release before kinds wrote for it.
WORDS: list[tuple[type[FeedError], FailureKind, dict[str, object], str]] = [
    (FetchError, FailureKind.HTTP, {"status": 404, "retry_after": None}, "HTTP 404 Not Found"),
    (FetchError, FailureKind.HTTP, {"status": 429, "retry_after": 600.0},
     "HTTP 429 Too Many Requests"),
    (FetchError, FailureKind.HTTP, {"status": 599}, "HTTP 599"),
    (FetchError, FailureKind.UNASKED_304, {"status": 304},
     "server answered 304 Not Modified to a request without validators"),
    (FetchError, FailureKind.TIMEOUT, {"seconds": 20.0, "phase": "deadline"},
     "timed out after 20 s"),
    (FetchError, FailureKind.TIMEOUT, {"seconds": 5.0, "phase": "connect"},
     "timed out after 5 s while connecting"),
    (FetchError, FailureKind.TIMEOUT, {"seconds": 10.0, "phase": "read"},
     "timed out after 10 s waiting for the server"),
    (FetchError, FailureKind.DNS, {}, "host not found (DNS lookup failed) — check the address"),
    (UnsafeURLError, FailureKind.DNS, {"host": "x.invalid"},
     "x.invalid could not be found (DNS lookup failed) — check the address"),
    (FetchError, FailureKind.REFUSED, {}, "connection refused — is the server up?"),
    (FetchError, FailureKind.RESET, {}, "connection reset by the server"),
    (FetchError, FailureKind.CLOSED, {}, "connection closed before the whole feed arrived"),
    (FetchError, FailureKind.TLS, {"reason": "wrong version number"},
     "TLS/SSL error: wrong version number"),
    (FetchError, FailureKind.DECOMPRESS, {},
     "could not decompress the response (bad gzip/deflate data)"),
    (FetchError, FailureKind.DOWNLOAD, {"error": "InvalidHeader"},
     "download failed: InvalidHeader"),
    (FetchError, FailureKind.INVALID_ADDRESS, {}, "not a valid web address"),
    (FetchError, FailureKind.SCHEME, {"scheme": "file"}, "not an http or https address (file:)"),
    (FetchError, FailureKind.SCHEME, {"scheme": ""}, "not an http or https address"),
    (FetchError, FailureKind.BAD_REDIRECT, {}, "redirected to an invalid address"),
    (FetchError, FailureKind.BAD_REDIRECT, {"scheme": "ftp"},
     "redirected to an address that is not http or https (ftp:)"),
    (FetchError, FailureKind.REDIRECT_LOOP, {"target": "https://news.test/a"},
     "redirect loop (back to https://news.test/a)"),
    (FetchError, FailureKind.TOO_MANY_REDIRECTS, {"limit": 5}, "too many redirects (more than 5)"),
    (UnsafeURLError, FailureKind.UNSAFE, {"rule": "loopback", "host": "127.0.0.1"},
     "127.0.0.1 is a loopback address (this machine); feeds must be on the public internet"),
    (UnsafeURLError, FailureKind.UNSAFE,
     {"rule": "private", "host": "intra.test", "address": "10.0.0.1", "redirected": True},
     "redirect refused: intra.test resolves to 10.0.0.1, a private address; feeds must be on "
     "the public internet"),
    (UnsafeURLError, FailureKind.UNSAFE,
     {"rule": "metadata", "host": "x.test", "address": "169.254.169.254", "peer": True},
     "the connection to x.test went to 169.254.169.254, a cloud metadata address; feeds must "
     "be on the public internet"),
    (UnsafeURLError, FailureKind.UNSAFE, {"rule": "scheme", "scheme": "ftp"},
     "only http:// and https:// feeds can be added (got ftp:)"),
    (UnsafeURLError, FailureKind.UNSAFE, {"rule": "proxy"},
     "feeds added by users are not fetched through a proxy"),
    (FetchError, FailureKind.TOO_LARGE, {"limit": 8 << 20, "size": (8 << 20) + 1},
     "feed larger than 8 MiB (after decompression)"),
    (FetchError, FailureKind.EMPTY, {}, "empty response"),
    (ParseError, FailureKind.EMPTY, {"parsed": True}, "empty response: the server sent no feed"),
    (ParseError, FailureKind.HTML, {}, "got an HTML page, not a feed — check the feed URL"),
    (ParseError, FailureKind.JSON, {}, "got JSON, not an RSS or Atom feed — check the feed URL"),
    (ParseError, FailureKind.ENTITIES, {}, "feed declares XML entities, which are not allowed"),
    (ParseError, FailureKind.NOT_XML, {"preview": ""},
     "not a feed: the response is not XML or holds no elements"),
    (ParseError, FailureKind.NOT_XML, {"preview": "hello"},
     "not a feed: the response is not XML (it begins: hello)"),
    (ParseError, FailureKind.NOT_A_FEED, {"root": "note"},
     "XML but not a feed: the root element is <note>, not <rss>, <feed> or <rdf:RDF>"),
    (ParseError, FailureKind.MALFORMED, {"reason": "no feed elements found"},
     "feed is malformed and nothing could be read (no feed elements found)"),
    (ParseError, FailureKind.CUT_OFF, {"line": 3},
     "feed is cut off before its first item (line 3)"),
    (ParseError, FailureKind.UNREADABLE, {"error": "TypeError"},
     "feed could not be read (TypeError)"),
    (ParseError, FailureKind.PARSE_TIMEOUT, {"seconds": 15.0},
     "parsing took longer than 15 s; the feed may be malformed"),
    (ParseError, FailureKind.PARSER_DIED, {"reason": "killed by signal 9"},
     "the parser stopped while reading this feed (killed by signal 9)"),
    (ParseError, FailureKind.OTHER, {"text": "the file is empty"}, "the file is empty"),
]  # fmt: skip


def test_every_kind_has_its_words_checked() -> None:
    assert {kind for _, kind, _, _ in WORDS} == set(FailureKind)


@pytest.mark.parametrize(("cls", "kind", "data", "words"), WORDS)
def test_the_words_are_made_from_the_kind(
    cls: type[FeedError], kind: FailureKind, data: dict[str, object], words: str
) -> None:
    error = cls(URL, kind, **data)
    assert error.problem == words
    assert str(error) == f"{URL}: {words}"
    assert error.kind is kind and error.data == data


@pytest.mark.parametrize(("cls", "kind", "data", "words"), WORDS)
def test_every_kind_pickles_back_to_itself(
    cls: type[FeedError], kind: FailureKind, data: dict[str, object], words: str
) -> None:
    error = cls(URL, kind, **data)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls
    assert (again.url, again.kind, again.data, again.problem) == (URL, kind, data, words)
    assert again.http_status == error.http_status


def test_the_status_is_data() -> None:
    assert FetchError(URL, FailureKind.HTTP, status=401).http_status == 401
    assert FetchError(URL, FailureKind.TIMEOUT, seconds=1.0).http_status is None


def test_a_problem_in_words_is_of_kind_other() -> None:
    error = ParseError("OPML file", "not an OPML file")
    assert error.kind is FailureKind.OTHER and error.problem == "not an OPML file"
    assert pickle.loads(pickle.dumps(error)).problem == "not an OPML file"


def test_the_url_guard_error_is_a_fetch_error() -> None:
    assert issubclass(UnsafeURLError, FetchError) and issubclass(FetchError, FeedError)


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("topics.toml", "bad", 3),
        QuerySyntaxError("a AND", "unexpected end", 5),
        StoreError("news.db", "is read-only", "make it writable"),
    ],
)
def test_the_other_errors_pickle_too(error: Exception) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and vars(again) == vars(error) and str(again) == str(error)


def test_the_store_keeps_the_kind_and_makes_the_words_when_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "news.db")
    error = FetchError(URL, FailureKind.TIMEOUT, seconds=20.0, phase="deadline")
    # Words stored by an older wording: what is read is made from the kind and its data.
    failure = FeedFailure(URL, "took too long", None, 20000.0, kind=error.kind, data=error.data)
    store.record_feeds([failure], NOW)
    state = store.feed_states([URL])[URL]
    assert (state.kind, state.last_error) == (FailureKind.TIMEOUT, "timed out after 20 s")
    # A failure known only in words (as before kinds) keeps its words.
    store.record_feeds([FeedFailure(URL, "something odd", None, 1.0)], NOW)
    state = store.feed_states([URL])[URL]
    assert (state.kind, state.last_error) == (FailureKind.OTHER, "something odd")
    # A success clears both.
    store.record_feeds([FeedSuccess(URL, FetchStatus.OK, 200, 5.0)], NOW)
    state = store.feed_states([URL])[URL]
    assert (state.kind, state.last_error, state.last_status) == (None, None, FetchStatus.OK)
