"""The feed addresses' figures (issue 15): a feed request and a conditional request (304)
against a warm app server at 10,000 headlines, each against the trivial app's health route
(Streamlit's `/_stcore/health`) in the same run.

The feed request is an address polled again by a reader that sends no validators (what a
warm server answers from the document it made for the same ETag); the request that made it,
a view not asked before (a keyword of its own each time: filtered, grouped and written), is
given beside it. The requests go one at a time, each on a connection of its own,
interleaved with the trivial app's, and the medians are compared.

    python -m bench.subscribe          # the full sizes, one table
"""

from __future__ import annotations

import http.client
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from bench.apps import APP, TRIVIAL_APP
from bench.browser import KEYWORDS, fill_store, serve_wire
from bench.units import ms
from support.feedserver import FeedServer
from support.servers import streamlit_server

if TYPE_CHECKING:
    from bench.report import Row

FEED_REQUEST = "feed request, warm server"
FEED_304 = "feed request answered 304"


@dataclass(frozen=True, slots=True)
class SubscribeSizes:
    headlines: int
    repeats: int  # requests of each kind (a new keyword for each feed request)


@dataclass(frozen=True, slots=True)
class SubscribeFigures:
    headlines: int
    fresh: list[float]  # a view not asked before: filtered, grouped, written (s)
    again: list[float]  # the same view asked again, without validators (s)
    not_modified: list[float]  # a conditional request answered 304 (s)
    health: list[float]  # the trivial app's health route (s)
    items: int  # entries in the fresh feeds (median)


class _Client:
    """HTTP requests to one server, each on a connection of its own, as a feed reader polls
    (a kept-alive connection met a 40 ms delayed-ACK stall on some answers of the trivial
    app, which measured the TCP stack rather than the servers)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port

    def get(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[float, int, bytes, http.client.HTTPResponse]:
        """Seconds from connecting to the last byte of the answer; status; body; answer."""
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
        try:
            connection.request(method, path, headers=headers or {})
            answer = connection.getresponse()
            body = answer.read()
        finally:
            connection.close()
        return time.perf_counter() - started, answer.status, body, answer


@contextmanager
def _servers(sizes: SubscribeSizes, now: datetime, folder: Path) -> Iterator[tuple[str, str]]:
    with FeedServer() as feeds:
        wire = serve_wire(feeds, now, folder)
        db = folder / "news.db"
        fill_store(db, sizes.headlines, now, wire.url, wire.etag, wire.modified)
        env = {
            "NEWS_TOPICS": str(wire.topics),
            "NEWS_DB": str(db),
            "NEWS_CLOCK": now.isoformat(),
            "NEWS_FEED_LIMIT": "1000000",  # the limit is not what is measured
        }
        with (
            streamlit_server(APP, env, folder / "app.log") as app,
            streamlit_server(TRIVIAL_APP, {}, folder / "trivial.log") as trivial,
        ):
            yield app.url, trivial.url


def run_subscribe(
    sizes: SubscribeSizes, now: datetime, log: Callable[[str], None]
) -> SubscribeFigures:
    """Start the app on a store of `sizes.headlines` and the trivial app; measure."""
    if sizes.repeats > len(KEYWORDS) - 1:
        raise ValueError(f"at most {len(KEYWORDS) - 1} repetitions (one keyword each)")
    with (
        tempfile.TemporaryDirectory(prefix="bench-subscribe-") as name,
        _servers(sizes, now, Path(name)) as (app_url, trivial_url),
    ):
        return _measure(_Client(app_url), _Client(trivial_url), sizes, log)


def _measure(
    app: _Client, trivial: _Client, sizes: SubscribeSizes, log: Callable[[str], None]
) -> SubscribeFigures:
    # Warm: the topic's index and its stories are built by the first request.
    seconds, status, _, _ = app.get(f"/feed.rss?{urlencode({'q': KEYWORDS[-1]})}")
    if status != 200:
        raise RuntimeError(f"the feed address answered {status}")
    log(f"subscribe: first feed request (index built) {seconds * 1000:.0f} ms")
    for _ in range(5):
        trivial.get("/_stcore/health")
    fresh, again, not_modified, health, items = [], [], [], [], []
    for keyword in KEYWORDS[: sizes.repeats]:
        path = f"/feed.rss?{urlencode({'q': keyword})}"
        seconds, status, body, _ = app.get(path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        fresh.append(seconds)
        items.append(body.count(b"<item>"))
        health.append(trivial.get("/_stcore/health")[0])
        again.append(app.get(path)[0])
        health.append(trivial.get("/_stcore/health")[0])
        tag = app.get(path, method="HEAD")[3].getheader("ETag") or ""
        seconds, status, _, _ = app.get(path, {"If-None-Match": tag})
        if status != 304:
            raise RuntimeError(f"a conditional request answered {status}, not 304")
        not_modified.append(seconds)
        health.append(trivial.get("/_stcore/health")[0])
    figures = SubscribeFigures(
        sizes.headlines, fresh, again, not_modified, health, int(statistics.median(items))
    )
    log(
        f"subscribe: fresh {ms(fresh, 1)}; again {ms(again, 1)}; 304 {ms(not_modified, 1)}; "
        f"health {ms(health, 1)}"
    )
    return figures


def subscribe_rows(f: SubscribeFigures) -> list[Row]:
    """The two rows: a feed request (≤ 2×) and a 304 (≤ 1.2×) against the trivial app's
    health route."""
    from bench.report import Row, _size  # here, so that bench.report may import this module

    health = statistics.median(f.health)
    fresh, repeat = statistics.median(f.fresh), statistics.median(f.again)
    not_modified = statistics.median(f.not_modified)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    baseline = "trivial app's /_stcore/health, same run"
    return [
        Row(FEED_REQUEST, f"{_size(f.headlines)} headlines, an address polled again, "
            f"{f.items} items, RSS", baseline,
            f"{ms(repeat)} (a view not asked before: {ms(fresh)}, {fresh / health:.1f}×)",
            ms(health), f"{repeat / health:.2f}×", "≤ 2×", repeat / health <= 2),
        Row(FEED_304, f"{_size(f.headlines)} headlines, If-None-Match", baseline,
            ms(not_modified), ms(health), f"{not_modified / health:.2f}×", "≤ 1.2×",
            not_modified / health <= 1.2),
    ]  # fmt: skip


def main() -> None:
    from datetime import UTC

    from bench.report import table

    now = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    figures = run_subscribe(SubscribeSizes(10_000, 20), now, print)
    print(table(subscribe_rows(figures)))


if __name__ == "__main__":
    main()
