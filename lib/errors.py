"""The one exception tree of `lib`, and the kinds of failure a feed can meet.

A feed that fails is a `FeedError` of one `FailureKind`, with the data of that failure (HTTP
status, Retry-After, host, byte counts, seconds, …). The kind and its data travel as data:
into `FetchResult.failure`, the store's `error_kind`, `error_data` and `http_status`
columns, and the advice of `lib.diagnosis`; `failure_message` makes the words from them, in
one place (also when the store is read).
Every `FeedError` pickles (parse workers hand real errors back). Errors the user must see as
part of normal operation (a feed that failed) are values carried by results; raised, these
exceptions are for input the program cannot go on with.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import Any


class NewsError(Exception):
    """Base of every error raised by `lib`."""


class ConfigError(NewsError):
    """The topics file or an environment variable is invalid.

    The message names the file, the line when known, and the problem.
    """

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (ConfigError, (self.path, self.problem, self.line))


class FailureKind(StrEnum):
    """Why a feed gave no headlines; the value is what the store keeps (`error_kind`)."""

    HTTP = "http"  # an error status: data `status`, maybe `retry_after` (seconds)
    UNASKED_304 = "unasked-304"  # 304 Not Modified to a request without validators
    TIMEOUT = "timeout"  # data `seconds`, `phase`: "deadline", "connect" or "read"
    DNS = "dns"  # the name does not resolve; data `host` when the URL guard found it
    REFUSED = "refused"  # connection refused
    RESET = "reset"  # connection reset by the server
    CLOSED = "closed"  # connection closed before the whole body arrived
    TLS = "tls"  # data `reason`
    DECOMPRESS = "decompress"  # broken gzip/deflate data
    DOWNLOAD = "download"  # any other network error: data `error` (its type name)
    INVALID_ADDRESS = "invalid-address"  # the URL cannot be read
    SCHEME = "scheme"  # not http(s): data `scheme` ("" when none)
    BAD_REDIRECT = "bad-redirect"  # data `scheme` (not http(s)), or none: an invalid target
    REDIRECT_LOOP = "redirect-loop"  # data `target`
    TOO_MANY_REDIRECTS = "too-many-redirects"  # data `limit`
    UNSAFE = "unsafe"  # the URL guard refused it: data `rule`, `host`, `address`, `redirected`
    TOO_LARGE = "too-large"  # data `limit` (bytes), `size` (bytes read or announced)
    EMPTY = "empty"  # nothing came: data `parsed` (True when the parser found nothing)
    HTML = "html"  # a web page, not a feed
    JSON = "json"
    ENTITIES = "entities"  # the XML declares entities
    NOT_XML = "not-xml"  # data `preview` (its first characters; "" when no elements)
    NOT_A_FEED = "not-a-feed"  # XML with another root: data `root`
    MALFORMED = "malformed"  # a feed root, nothing readable: data `reason`
    CUT_OFF = "cut-off"  # cut off before its first item: data `line`
    UNREADABLE = "unreadable"  # the parser raised: data `error` (its type name)
    PARSE_TIMEOUT = "parse-timeout"  # the parse worker was stopped: data `seconds`
    PARSER_DIED = "parser-died"  # the parse worker died: data `reason`
    OTHER = "other"  # a problem in words only: data `text`


# Why the URL guard refuses an address (`UNSAFE`'s `rule`), in words.
ADDRESS_RULES: dict[str, str] = {
    "metadata": "a cloud metadata address",
    "unspecified": "an unspecified address (it means this machine)",
    "loopback": "a loopback address (this machine)",
    "link-local": "a link-local address",
    "multicast": "a multicast address",
    "shared": "a shared (carrier-grade NAT) address",
    "reserved": "a reserved address",
    "private": "a private address",
}
_PUBLIC_ONLY = "feeds must be on the public internet"
_INVALID = "not a valid web address"


def failure_message(kind: FailureKind, data: dict[str, Any]) -> str:
    """The words for a failure of `kind` with `data`: the one place they are made."""
    match kind:
        case FailureKind.HTTP:
            return _http_words(data["status"])
        case FailureKind.UNASKED_304:
            return "server answered 304 Not Modified to a request without validators"
        case FailureKind.TIMEOUT:
            phase = {"connect": " while connecting", "read": " waiting for the server"}
            return f"timed out after {data['seconds']:g} s{phase.get(data.get('phase', ''), '')}"
        case FailureKind.DNS:
            if data.get("host"):
                return f"{data['host']} could not be found (DNS lookup failed) — check the address"
            return "host not found (DNS lookup failed) — check the address"
        case FailureKind.REFUSED:
            return "connection refused — is the server up?"
        case FailureKind.RESET:
            return "connection reset by the server"
        case FailureKind.CLOSED:
            return "connection closed before the whole feed arrived"
        case FailureKind.TLS:
            return f"TLS/SSL error: {data['reason']}"
        case FailureKind.DECOMPRESS:
            return "could not decompress the response (bad gzip/deflate data)"
        case FailureKind.DOWNLOAD:
            return f"download failed: {data['error']}"
        case FailureKind.INVALID_ADDRESS:
            return _INVALID
        case FailureKind.SCHEME:
            scheme = data.get("scheme")
            return (
                f"not an http or https address ({scheme}:)"
                if scheme
                else ("not an http or https address")
            )
        case FailureKind.BAD_REDIRECT:
            if "scheme" not in data:
                return "redirected to an invalid address"
            scheme, words = data["scheme"], "redirected to an address that is not http or https"
            return f"{words} ({scheme}:)" if scheme else words
        case FailureKind.REDIRECT_LOOP:
            return f"redirect loop (back to {data['target']})"
        case FailureKind.TOO_MANY_REDIRECTS:
            return f"too many redirects (more than {data['limit']})"
        case FailureKind.UNSAFE:
            words = _unsafe_words(data)
            return f"redirect refused: {words}" if data.get("redirected") else words
        case FailureKind.TOO_LARGE:
            return f"feed larger than {_size(data['limit'])} (after decompression)"
        case FailureKind.EMPTY:
            return (
                "empty response: the server sent no feed"
                if data.get("parsed")
                else ("empty response")
            )
        case FailureKind.HTML:
            return "got an HTML page, not a feed — check the feed URL"
        case FailureKind.JSON:
            return "got JSON, not an RSS or Atom feed — check the feed URL"
        case FailureKind.ENTITIES:
            return "feed declares XML entities, which are not allowed"
        case FailureKind.NOT_XML:
            if not data.get("preview"):
                return "not a feed: the response is not XML or holds no elements"
            return f"not a feed: the response is not XML (it begins: {data['preview']})"
        case FailureKind.NOT_A_FEED:
            return (
                f"XML but not a feed: the root element is <{data['root']}>, "
                "not <rss>, <feed> or <rdf:RDF>"
            )
        case FailureKind.MALFORMED:
            return f"feed is malformed and nothing could be read ({data['reason']})"
        case FailureKind.CUT_OFF:
            return f"feed is cut off before its first item (line {data['line']})"
        case FailureKind.UNREADABLE:
            return f"feed could not be read ({data['error']})"
        case FailureKind.PARSE_TIMEOUT:
            return f"parsing took longer than {data['seconds']:g} s; the feed may be malformed"
        case FailureKind.PARSER_DIED:
            return f"the parser stopped while reading this feed ({data['reason']})"
    return str(data.get("text") or "failed")


def _http_words(status: int) -> str:
    # The standard phrase, not the server's reason text, which may be long or misleading.
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _unsafe_words(data: dict[str, Any]) -> str:
    rule, host = data["rule"], data.get("host", "")
    match rule:
        case "invalid":
            return f"{_INVALID} — check the feed URL"
        case "scheme":
            scheme = data.get("scheme")
            got = f" (got {scheme}:)" if scheme else " — add http:// or https:// in front"
            return f"only http:// and https:// feeds can be added{got}"
        case "credentials":
            return "feed addresses with a user name or password (user:pass@) are not accepted"
        case "no-host":
            return "the address has no host name — check the feed URL"
        case "localhost":
            return f"{host} is this machine; {_PUBLIC_ONLY}"
        case "proxy":
            return "feeds added by users are not fetched through a proxy"
    reason = ADDRESS_RULES[rule]
    if data.get("peer"):
        return f"the connection to {host} went to {data['address']}, {reason}; {_PUBLIC_ONLY}"
    if data.get("address"):
        return f"{host} resolves to {data['address']}, {reason}; {_PUBLIC_ONLY}"
    return f"{host} is {reason}; {_PUBLIC_ONLY}"


def _size(n: int) -> str:
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} bytes"


class FeedError(NewsError):
    """A feed could not be read: its URL (or path), the `kind` of failure and its `data`.

    Made from a kind and its data (`FetchError(url, FailureKind.TOO_LARGE, limit=…)`), or
    from a problem in words only (kind `OTHER`: OPML files). `problem` is the words.
    """

    def __init__(self, url: str, kind: FailureKind | str, /, **data: Any) -> None:
        if not isinstance(kind, FailureKind):
            kind, data = FailureKind.OTHER, {"text": kind, **data}
        self.url = url
        self.kind = kind
        self.data = data
        self.problem = failure_message(kind, data)
        super().__init__(f"{url}: {self.problem}")

    @property
    def http_status(self) -> int | None:
        """The HTTP status the failure came with, if any."""
        status = self.data.get("status")
        return status if isinstance(status, int) else None

    def __reduce__(self) -> tuple[Any, ...]:
        # The default would call cls(*args) with the one message: rebuild from the kind.
        return (_rebuild, (type(self), self.url, self.kind, self.data))


def _rebuild(cls: type[FeedError], url: str, kind: FailureKind, data: dict[str, Any]) -> FeedError:
    return cls(url, kind, **data)


class FetchError(FeedError):
    """The feed could not be downloaded."""


class UnsafeURLError(FetchError):
    """A feed address the app must not fetch (see `lib.netguard`): kind `UNSAFE` with its
    `rule`, or `DNS` when the name does not resolve."""


class ParseError(FeedError):
    """The downloaded bytes are not a feed."""


class QuerySyntaxError(NewsError):
    """A topic query or keyword search is not valid syntax."""

    def __init__(self, query: str, problem: str, position: int | None = None) -> None:
        self.query = query
        self.problem = problem
        self.position = position
        super().__init__(problem)

    def __reduce__(self) -> tuple[Any, ...]:
        return (QuerySyntaxError, (self.query, self.problem, self.position))


class StoreError(NewsError):
    """The headline store cannot be opened, read or written: names the file, the problem and
    the next step, in one line for the page and the command line."""

    def __init__(self, path: str, problem: str, step: str) -> None:
        self.path = path
        self.problem = problem
        self.step = step
        super().__init__(f"The headline store {path} {problem}: {step}.")

    def __reduce__(self) -> tuple[type[StoreError], tuple[str, str, str]]:
        # Kept in Streamlit's cache (pickled) like a refresh report; see ui/data.py.
        return (StoreError, (self.path, self.problem, self.step))
