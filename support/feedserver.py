"""A real HTTP server on 127.0.0.1 that serves test feeds.

    with FeedServer() as server:
        server.route("/feed.xml", b"<rss>…</rss>", etag='"v1"')
        server.route("/slow.xml", body, delay=3.0)
        server.route_handler("/odd", lambda handler: ...)  # anything custom
        fetch(server.url("/feed.xml"))
        assert server.hits("/feed.xml") == 1

Each request runs in its own daemon thread. Leaving the `with` block stops the server at
once: handlers that are sleeping (`delay`, `trickle`) wake up and give up.
"""

from __future__ import annotations

import email.utils
import gzip as gzip_module
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from requests.structures import CaseInsensitiveDict

Handler = Callable[[BaseHTTPRequestHandler], None]

# Errors a handler meets when the client has gone away; not worth a traceback.
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


@dataclass(frozen=True, slots=True)
class _Route:
    body: bytes
    status: int
    headers: Mapping[str, str]
    content_type: str | None
    delay: float
    etag: str | None
    last_modified: str | None
    trickle: tuple[int, float] | None
    gzip: bool


class FeedServer:
    """A threaded HTTP server on 127.0.0.1 with an ephemeral port; use it as a context manager.

    `requests` lists every request received as (path, headers), headers being a
    case-insensitive mapping; `hits(path)` counts them. Unknown paths get 404.
    """

    def __init__(self) -> None:
        self._routes: dict[str, _Route | Handler] = {}
        self._requests: list[tuple[str, CaseInsensitiveDict[str]]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _RequestHandler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        """The full http URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def route(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = "application/rss+xml; charset=utf-8",
        delay: float = 0.0,
        etag: str | None = None,
        last_modified: str | None = None,
        trickle: tuple[int, float] | None = None,
        gzip: bool = False,
    ) -> None:
        """Serve this response at `path` (query string included if given).

        `delay` seconds pass before anything is sent; `trickle=(chunk_bytes, seconds)` sends
        the body in small chunks with pauses between them. `etag` / `last_modified` are sent
        as ETag / Last-Modified, and a request whose If-None-Match / If-Modified-Since
        matches them gets 304 with no body. `gzip=True` compresses `body` and says so in
        Content-Encoding. `headers` are sent as given, after the others.
        """
        self._routes[path] = _Route(
            body=gzip_module.compress(body, mtime=0) if gzip else body,
            status=status,
            headers=dict(headers or {}),
            content_type=content_type,
            delay=delay,
            etag=etag,
            last_modified=last_modified,
            trickle=trickle,
            gzip=gzip,
        )

    def route_handler(self, path: str, fn: Handler) -> None:
        """Let `fn(handler)` answer requests for `path` by writing to the handler itself.

        `handler` is a `BaseHTTPRequestHandler` (`send_response`, `send_header`,
        `end_headers`, `wfile`). The connection is closed after `fn` returns, so a body
        without Content-Length ends there.
        """
        self._routes[path] = fn

    @property
    def requests(self) -> list[tuple[str, CaseInsensitiveDict[str]]]:
        """A snapshot of the requests received so far: (path, headers)."""
        with self._lock:
            return list(self._requests)

    def hits(self, path: str) -> int:
        """How many requests asked for `path` (with or without a query string)."""
        return sum(1 for seen, _ in self.requests if seen == path or seen.split("?")[0] == path)

    def wait(self, seconds: float) -> bool:
        """Sleep in a handler; returns True early if the server is shutting down."""
        return self._closing.wait(seconds)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # wakes handlers sleeping in delay/trickle
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _record(self, path: str, headers: Mapping[str, str]) -> None:
        with self._lock:
            self._requests.append((path, CaseInsensitiveDict(headers.items())))

    def _find(self, path: str) -> _Route | Handler | None:
        return self._routes.get(path) or self._routes.get(path.split("?")[0])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Do not join handler threads on close: one may be sleeping or stuck on a keep-alive read.
    block_on_close = False
    owner: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], _CLIENT_GONE):
            super().handle_error(request, client_address)  # a bug in a test's handler


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stall
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._record(self.path, self.headers)
        route = owner._find(self.path)
        if route is None:
            self._answer(404, b"not found\n", {"Content-Type": "text/plain"})
        elif isinstance(route, _Route):
            self._serve(route)
        else:
            try:
                route(self)
            finally:
                self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet

    def _serve(self, route: _Route) -> None:
        owner = self.server.owner
        if route.delay and owner.wait(route.delay):
            self.close_connection = True
            return
        headers: dict[str, str] = {}
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.gzip:
            headers["Content-Encoding"] = "gzip"
        headers.update(route.headers)
        if self._not_modified(route):
            validators = {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}
            self._answer(304, b"", validators)
            return
        self._answer(route.status, route.body, headers, route.trickle)

    def _not_modified(self, route: _Route) -> bool:
        """Whether the request's validators match the route's (If-None-Match wins)."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None and route.etag:
            tags = [tag.strip() for tag in if_none_match.split(",")]
            return "*" in tags or route.etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is not None and route.last_modified:
            if if_modified_since == route.last_modified:
                return True
            try:
                since = email.utils.parsedate_to_datetime(if_modified_since)
                modified = email.utils.parsedate_to_datetime(route.last_modified)
                return modified <= since
            except (TypeError, ValueError):
                return False
        return False

    def _answer(
        self,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
        trickle: tuple[int, float] | None = None,
    ) -> None:
        has_body = status >= 200 and status not in (204, 304)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if has_body and not any(name.lower() == "content-length" for name in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not has_body:
            return
        if trickle is None:
            self.wfile.write(body)
            return
        size, pause = trickle
        for start in range(0, len(body), size):
            self.wfile.write(body[start : start + size])
            self.wfile.flush()
            if self.server.owner.wait(pause):
                self.close_connection = True
                return
