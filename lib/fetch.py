"""Download feeds: many URLs at once, politely, within one deadline and a size cap.

A feed that cannot be fetched is a `FetchResult` carrying its `FetchError` (a
`lib.errors.FailureKind` and its data), never a raised exception: one broken source must
not hide the others. Feeds added by users (not from the topics file) are fetched under
`lib.netguard`'s checks: see `fetch_one`'s `allow_private`.
"""

from __future__ import annotations

import email.utils
import http.client
import socket
import ssl
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from enum import StrEnum
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lib.errors import FailureKind, FetchError, UnsafeURLError
from lib.netguard import GuardedAdapter, check_url

USER_AGENT = (
    "topic-news-page/0.1 (self-hosted Streamlit news page; +https://github.com/topic-news-page)"
)
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
# Only what urllib3 can always decode: requests would also offer br/zstd when those
# packages happen to be installed, and then the behaviour would depend on the machine.
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024
_WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How long, how far and how much one batch of downloads may take."""

    connect_timeout: float = 5.0  # seconds per connection attempt
    read_timeout: float = 10.0  # seconds of silence from the server
    deadline: float = 20.0  # seconds for the whole batch, reading included
    max_redirects: int = 5
    max_bytes: int = 8 * 1024 * 1024  # after decompression
    # Threads waiting on sockets cost next to nothing, and a topic's sources should all be
    # asked at once: in waves, each wave waits for its slowest host.
    workers: int = 64
    user_agent: str = USER_AGENT


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said identifies its copy, sent back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


class FetchStatus(StrEnum):
    """How a download ended."""

    OK = "ok"
    NOT_MODIFIED = "not modified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of downloading one feed URL; `failure` says what went wrong."""

    url: str
    status: FetchStatus
    http_status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    final_url: str | None = None  # after redirects
    validators: Validators = Validators()  # what the server sent this time (for next time)
    failure: FetchError | None = None  # why it FAILED: a kind and its data
    elapsed_ms: float = 0.0
    retry_after: float | None = None  # seconds, from Retry-After on 429/503

    @property
    def error(self) -> str | None:
        """What went wrong, in words (made from the failure's kind)."""
        return None if self.failure is None else self.failure.problem

    @property
    def kind(self) -> FailureKind | None:
        """The kind of failure, or None when the download worked."""
        return None if self.failure is None else self.failure.kind

    @property
    def ok(self) -> bool:
        """True when the feed arrived or is unchanged since last time."""
        return self.status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED)


def make_session(
    limits: FetchLimits = FetchLimits(), allow_private: bool | None = None
) -> requests.Session:
    """A session whose connection pool fits `limits.workers` threads, with no retries.

    With `allow_private` set (True or False) the session is for feeds added by users:
    each connection's peer address is checked (see `lib.netguard`), and proxies and
    credentials from the environment (.netrc) are not used, so an address typed by a
    visitor can neither leave through the operator's proxy nor receive their passwords.
    """
    session = requests.Session()
    # Retries would multiply the time a dead host costs; the next refresh is the retry.
    retries = Retry(total=0, read=False, redirect=False)
    if allow_private is None:
        adapter = HTTPAdapter(
            pool_connections=limits.workers, pool_maxsize=limits.workers, max_retries=retries
        )
    else:
        adapter = GuardedAdapter(
            allow_private,
            pool_connections=limits.workers,
            pool_maxsize=limits.workers,
            max_retries=retries,
        )
        session.trust_env = False
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.max_redirects = limits.max_redirects  # unused (we follow by hand), but not 30
    session.headers.update(
        {"User-Agent": limits.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    )
    return session


def fetch_one(
    session: requests.Session,
    url: str,
    validators: Validators = Validators(),
    limits: FetchLimits = FetchLimits(),
    deadline_at: float | None = None,
    allow_private: bool | None = None,
) -> FetchResult:
    """Download one feed; `deadline_at` is a `time.monotonic()` value (default: now + deadline).

    `allow_private` None means a trusted URL (from the topics file), fetched as is. True or
    False means a URL a user added: every hop is checked with `lib.netguard.check_url` and
    every connection's peer address too, through a session from `make_session(limits,
    allow_private)` (the one given, if it is such a session, else a new one for this call).
    Never raises for network or server problems, nor for a refused address: they come
    back as a FAILED result.
    """
    if allow_private is not None and not _guards(session, allow_private):
        with make_session(limits, allow_private) as guarded:
            return fetch_one(guarded, url, validators, limits, deadline_at, allow_private)
    started = time.monotonic()
    if deadline_at is None:
        deadline_at = started + limits.deadline
    try:
        result = _download(session, url, validators, limits, deadline_at, allow_private)
    except FetchError as exc:
        result = FetchResult(url, FetchStatus.FAILED, failure=exc)
    except _NETWORK_ERRORS as exc:
        late = time.monotonic() >= deadline_at
        failure = _timed_out(url, limits) if late else _describe(url, exc, limits)
        result = FetchResult(url, FetchStatus.FAILED, failure=failure)
    return replace(result, elapsed_ms=(time.monotonic() - started) * 1000)


def _guards(session: requests.Session, allow_private: bool) -> bool:
    """Whether `session` checks peer addresses under this policy for http and https."""
    return all(
        isinstance(adapter := session.get_adapter(f"{scheme}://x/"), GuardedAdapter)
        and adapter.allow_private == allow_private
        for scheme in _WEB_SCHEMES
    )


def fetch_all(
    urls: Sequence[str],
    validators: Mapping[str, Validators] | None = None,
    limits: FetchLimits = FetchLimits(),
    on_done: Callable[[FetchResult], None] | None = None,
    session: requests.Session | None = None,
    untrusted: Collection[str] = (),
    allow_private: bool = False,
) -> list[FetchResult]:
    """Download all `urls` concurrently; one result per URL, in input order, by the deadline.

    `validators` maps a URL to what its server sent last time. `on_done` is called with
    each result as it completes, in the calling thread (so a UI may update from it).
    URLs in `untrusted` (added by users) are fetched as `fetch_one` does with
    `allow_private`, through a guarded session of their own; the others through `session`.
    """
    started = time.monotonic()
    deadline_at = started + limits.deadline
    own_session = session is None
    if session is None:
        session = make_session(limits)
    checked = frozenset(untrusted).intersection(urls)
    guarded = make_session(limits, allow_private) if checked else None
    known = validators or {}
    results: list[FetchResult | None] = [None] * len(urls)
    executor = ThreadPoolExecutor(max(1, min(limits.workers, len(urls))), "fetch")
    try:
        pending: dict[Future[FetchResult], int] = {}
        for i, url in enumerate(urls):
            sent = known.get(url, Validators())
            if guarded is not None and url in checked:
                job = (guarded, url, sent, limits, deadline_at, allow_private)
            else:
                job = (session, url, sent, limits, deadline_at, None)
            pending[executor.submit(fetch_one, *job)] = i
        for future in _as_completed(pending, deadline_at):
            results[pending[future]] = result = future.result()
            if on_done:
                on_done(result)
        # Whatever is still running is stuck (DNS, connect, a silent server): report it as
        # timed out now; the worker stops at its own deadline check and its result is dropped.
        for i, url in enumerate(urls):
            if results[i] is None:
                results[i] = late = FetchResult(
                    url,
                    FetchStatus.FAILED,
                    failure=_timed_out(url, limits),
                    elapsed_ms=(time.monotonic() - started) * 1000,
                )
                if on_done:
                    on_done(late)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        if own_session:
            session.close()  # closes idle pooled connections; in-use ones close when done
        if guarded is not None:
            guarded.close()
    return [result for result in results if result is not None]


def _as_completed(
    pending: Mapping[Future[FetchResult], int], deadline_at: float
) -> Iterator[Future[FetchResult]]:
    """Yield futures as they finish, stopping at the deadline."""
    waiting = set(pending)
    while waiting:
        done, waiting = wait(
            waiting, timeout=max(0.0, deadline_at - time.monotonic()), return_when=FIRST_COMPLETED
        )
        if not done:
            return
        yield from done


def _download(
    session: requests.Session,
    url: str,
    sent: Validators,
    limits: FetchLimits,
    deadline_at: float,
    allow_private: bool | None = None,
) -> FetchResult:
    """Follow redirects by hand so each hop is checked, then read the final answer."""
    headers = _conditional_headers(sent)
    current, visited = url, {url}
    if allow_private is None:
        _check_scheme(url, url, FailureKind.SCHEME)
    for hop in range(limits.max_redirects + 1):
        if allow_private is not None:
            _check_hop(url, current, allow_private, redirected=hop > 0)
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise _timed_out(url, limits)
        # Never wait on one socket longer than the batch has left.
        timeout = (min(limits.connect_timeout, remaining), min(limits.read_timeout, remaining))
        response = session.get(
            current, headers=headers, stream=True, allow_redirects=False, timeout=timeout
        )
        with response:
            if not response.is_redirect:
                return _result_of(url, current, response, sent, limits, deadline_at)
            current = _redirect_target(session, url, current, response)
        if current in visited:
            raise FetchError(url, FailureKind.REDIRECT_LOOP, target=current)
        visited.add(current)
    raise FetchError(url, FailureKind.TOO_MANY_REDIRECTS, limit=limits.max_redirects)


def _redirect_target(
    session: requests.Session, url: str, current: str, response: requests.Response
) -> str:
    """Where a redirect points, resolved against the current URL; only http(s) is followed."""
    try:
        # requests' helper also repairs UTF-8 Locations that http.client read as Latin-1.
        target = urljoin(current, session.get_redirect_target(response) or "")
    except ValueError:  # undecodable bytes, a broken IPv6 literal
        raise FetchError(url, FailureKind.BAD_REDIRECT) from None
    _check_scheme(url, target, FailureKind.BAD_REDIRECT)
    return target


def _check_hop(url: str, current: str, allow_private: bool, redirected: bool) -> None:
    """Refuse a user's URL, or a hop it redirects to, that leads off the public internet."""
    try:
        check_url(current, allow_private)
    except UnsafeURLError as exc:
        raise UnsafeURLError(url, exc.kind, **exc.data, redirected=redirected) from None


def _conditional_headers(sent: Validators) -> dict[str, str]:
    headers = {}
    if sent.etag:
        headers["If-None-Match"] = sent.etag
    if sent.last_modified:
        headers["If-Modified-Since"] = sent.last_modified
    return headers


def _check_scheme(url: str, target: str, kind: FailureKind) -> None:
    """Only http and https: a feed must not lead us to file:, ftp: or data: addresses."""
    try:
        scheme = urlsplit(target).scheme.lower()
    except ValueError:  # e.g. a broken IPv6 literal
        raise FetchError(url, FailureKind.INVALID_ADDRESS) from None
    if scheme not in _WEB_SCHEMES:
        raise FetchError(url, kind, scheme=scheme)


def _result_of(
    url: str,
    final_url: str,
    response: requests.Response,
    sent: Validators,
    limits: FetchLimits,
    deadline_at: float,
) -> FetchResult:
    """Turn the final (non-redirect) response into a result, reading the body if it has one."""
    status = response.status_code
    received = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
    failed = FetchResult(
        url,
        FetchStatus.FAILED,
        http_status=status,
        content_type=response.headers.get("Content-Type"),
        final_url=final_url,
        validators=received,
    )
    if status == HTTPStatus.NOT_MODIFIED:
        if not (sent.etag or sent.last_modified):
            # We have no copy to reuse, so "not modified" would leave the page without items.
            return replace(failed, failure=FetchError(url, FailureKind.UNASKED_304, status=status))
        # A 304 may omit validators; keep ours so the next request is conditional too.
        kept = Validators(received.etag or sent.etag, received.last_modified or sent.last_modified)
        return replace(failed, status=FetchStatus.NOT_MODIFIED, validators=kept)
    if not 200 <= status < 300:
        retry_after = None
        if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
            retry_after = _retry_after(
                response.headers.get("Retry-After"), response.headers.get("Date")
            )
        failure = FetchError(url, FailureKind.HTTP, status=status, retry_after=retry_after)
        return replace(failed, failure=failure, retry_after=retry_after)
    body = _read_body(url, response, limits, deadline_at)
    if not body:
        return replace(failed, failure=FetchError(url, FailureKind.EMPTY))
    return replace(failed, status=FetchStatus.OK, body=body)


def _read_body(
    url: str, response: requests.Response, limits: FetchLimits, deadline_at: float
) -> bytes:
    """Read the decoded body, stopping at the size cap or the deadline, whichever comes first.

    `read1` returns after a single socket read, unlike `read(amt)`/`stream()`, which block
    until `amt` bytes arrive; so a server trickling a byte at a time cannot keep us past the
    deadline. urllib3 (>= 2.6) bounds decompressed output per call, so a gzip bomb is only
    ever inflated one chunk ahead of the cap.
    """
    too_large = FailureKind.TOO_LARGE
    length = response.headers.get("Content-Length", "")
    if (
        length.isdigit()
        and int(length) > limits.max_bytes
        and "Content-Encoding" not in response.headers
    ):
        raise FetchError(url, too_large, limit=limits.max_bytes, size=int(length))
    body = bytearray()
    while True:
        if time.monotonic() >= deadline_at:
            raise _timed_out(url, limits)
        chunk = response.raw.read1(_CHUNK, decode_content=True)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limits.max_bytes:
            raise FetchError(url, too_large, limit=limits.max_bytes, size=len(body))


def _retry_after(value: str | None, server_date: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    # Measure against the server's own clock when it gave one, so clock skew cancels out.
    now = _http_date(server_date) if server_date else None
    return max(0.0, when - (now if now is not None else time.time()))


def _http_date(value: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):  # "04:22:99999999999999999999"
        return None


# Everything requests, urllib3 and the socket layer raise for a network or server problem.
_NETWORK_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


def _describe(url: str, exc: BaseException, limits: FetchLimits) -> FetchError:
    """The kind of failure a network exception means, from the innermost cause outward."""
    causes = list(_causes(exc))
    found = {type(cause) for cause in causes}

    def has(*kinds: type[BaseException]) -> bool:
        return any(issubclass(kind, kinds) for kind in found)

    if has(socket.gaierror, urllib3.exceptions.NameResolutionError):
        return FetchError(url, FailureKind.DNS)
    if has(ConnectionRefusedError):
        return FetchError(url, FailureKind.REFUSED)
    if has(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
        return FetchError(url, FailureKind.TIMEOUT, seconds=limits.connect_timeout, phase="connect")
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError):
        return FetchError(url, FailureKind.TIMEOUT, seconds=limits.read_timeout, phase="read")
    if has(ssl.SSLError, requests.exceptions.SSLError, urllib3.exceptions.SSLError):
        return FetchError(url, FailureKind.TLS, reason=_ssl_reason(causes))
    if has(requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError):
        return FetchError(url, FailureKind.DECOMPRESS)
    if has(
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        urllib3.exceptions.LocationParseError,
    ):
        return FetchError(url, FailureKind.INVALID_ADDRESS)
    if has(ConnectionResetError):
        return FetchError(url, FailureKind.RESET)
    if has(
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.ProtocolError,
        http.client.IncompleteRead,
        http.client.RemoteDisconnected,
    ):
        return FetchError(url, FailureKind.CLOSED)
    return FetchError(url, FailureKind.DOWNLOAD, error=type(exc).__name__)


def _ssl_reason(causes: list[BaseException]) -> str:
    """The short reason of the innermost ssl error, e.g. "certificate verify failed: …"."""
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
            return f"certificate verify failed: {cause.verify_message}"
    for cause in causes:
        if isinstance(cause, ssl.SSLError) and cause.reason:
            return cause.reason.replace("_", " ").lower()
    return "handshake failed"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (cause, context, urllib3's `reason`, args)."""
    stack, seen = [exc], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
            *current.args,
        ]
        stack.extend(item for item in linked if isinstance(item, BaseException))


def _timed_out(url: str, limits: FetchLimits) -> FetchError:
    return FetchError(url, FailureKind.TIMEOUT, seconds=limits.deadline, phase="deadline")
