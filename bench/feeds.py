"""The benchmark's feeds: realistic RSS served from 127.0.0.1, each with its own delay.

Reuses the tests' `FeedServer` (a threaded server, one thread per request, so delays
overlap as they would across real hosts). Every route has an ETag and a Last-Modified, so
a second round with the validators of the first is all 304s.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime

from lib.model import Source
from support import feedserver
from support.corpus import rss, stories
from support.feedserver import FeedServer
from support.servers import ROOT


@dataclass(frozen=True, slots=True)
class BenchFeed:
    """One served feed: where, how slow, how big."""

    source: Source
    delay: float  # seconds before the server answers
    items: int
    size: int  # bytes


def serve_feeds(
    server: FeedServer,
    count: int,
    items: tuple[int, int],
    delays: tuple[float, float],
    now: datetime,
    seed: int = 40,
) -> list[BenchFeed]:
    """Route `count` generated feeds on `server`; delays spread evenly over `delays`.

    Every third feed is an aggregator (items with `<source>` and a " - Publication" title
    suffix). The slowest feed waits exactly `delays[1]`.
    """
    rng = random.Random(seed)
    low, high = delays
    steps = [low + (high - low) * i / max(1, count - 1) for i in range(count)]
    rng.shuffle(steps)
    modified = format_datetime(now - timedelta(minutes=5), usegmt=True)
    feeds = []
    for number, delay in enumerate(steps):
        size = rng.randint(*items)
        aggregator = number % 3 == 0
        name = f"Bench feed {number:02d}" + (" (aggregator)" if aggregator else "")
        body = rss(
            name,
            stories(size, now, rng, f"feed{number}", timedelta(days=7)),
            aggregator=aggregator,
            label_rng=random.Random(number),
        )
        path = f"/feed/{number:02d}.xml"
        server.route(
            path,
            body,
            delay=delay,
            etag=f'"bench-{number}-{len(body)}"',
            last_modified=modified,
        )
        source = Source(name=name, url=server.url(path), topical=True)
        feeds.append(BenchFeed(source=source, delay=delay, items=size, size=len(body)))
    return feeds


@contextmanager
def feed_process(
    count: int, items: tuple[int, int], delays: tuple[float, float], now: datetime
) -> Iterator[list[BenchFeed]]:
    """The feeds served by a process of their own, so serving them costs the client no GIL.

    Yields the feeds once they are listening; the process stops when the block ends.
    """
    command = [
        sys.executable, "-m", "bench.feeds", "--count", str(count),
        "--items", str(items[0]), str(items[1]),
        "--delays", str(delays[0]), str(delays[1]), "--now", now.isoformat(),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the feed server process did not start")
        yield [
            BenchFeed(
                source=Source(name=raw["name"], url=raw["url"], topical=True),
                delay=raw["delay"],
                items=raw["items"],
                size=raw["size"],
            )
            for raw in json.loads(line)
        ]
    finally:
        if process.stdin:
            process.stdin.close()  # the server's signal to stop
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> None:
    """Serve the feeds until standard input closes; print them as one JSON line first."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--items", type=int, nargs=2, required=True)
    parser.add_argument("--delays", type=float, nargs=2, required=True)
    parser.add_argument("--now", required=True)
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now)
    # socketserver listens with a backlog of 5: 40 clients connecting at once would overflow
    # it and wait for the kernel's 1 s SYN retry. Real feed hosts do not have that limit.
    feedserver._Server.request_queue_size = 1024
    with FeedServer() as server:
        feeds = serve_feeds(server, args.count, tuple(args.items), tuple(args.delays), now)
        listed = [
            {"name": f.source.name, "url": f.source.url, "delay": f.delay, "items": f.items,
             "size": f.size}
            for f in feeds
        ]  # fmt: skip
        print(json.dumps(listed), flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin (or exits)


if __name__ == "__main__":
    main()
