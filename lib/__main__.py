"""Command line: `python -m lib refresh [--serve] | fetch | check-feed | export | copy-store`.

`refresh --serve` runs the refresher loop as a process (systemd, a container); `refresh`
runs one round of it (cron); `fetch` refreshes one topic's feeds at once, whatever a loop
holds (for debugging feeds); `check-feed` shows how one feed parses; `export` prints what
is stored; `copy-store FROM TO` copies a whole store into an empty one (an SQLite file
into PostgreSQL, say).

This is an edge of the program like the UI: it reads the clock. NEWS_CLOCK (for display
and tests) fixes the time used; pruning still follows the wall clock, so a clock set ahead
never deletes stored headlines. A store that cannot be used is one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lib.config import Settings, find_topic, load_settings, load_topics
from lib.diagnosis import advice
from lib.errors import FailureKind, FetchError, NewsError, ParseError, StoreError
from lib.export import to_csv, to_json
from lib.fetch import FetchLimits, FetchStatus, Validators, fetch_one, make_session
from lib.model import TimeKind
from lib.parse import parse_feed
from lib.refresh import RefreshReport, refresh_topic
from lib.refresher import Refresher, owner_id, refresh_round
from lib.selection import topic_headlines
from lib.store import COPIED_TABLES, Store
from lib.storedb import shown
from lib.times import WINDOW


def _now(config: Settings) -> datetime:
    return config.clock or datetime.now(UTC)


def _print_reports(reports: list[RefreshReport]) -> None:
    """A line per source: how long it took and how it fared."""
    done = [r for report in reports for r in report.sources]
    width = max((len(r.source.name) for r in done), default=0)
    for r in done:
        if r.status is FetchStatus.FAILED:
            outcome = f"failed: {r.error}"
        elif r.status is FetchStatus.NOT_MODIFIED:
            outcome = "not modified"
        else:
            outcome = f"ok, {r.items} items, {r.new} new"
            if r.warning:
                outcome += f" ({r.warning})"
        print(f"{r.source.name:<{width}}  {r.elapsed_ms:7.0f} ms  {outcome}  {r.source.url}")


def cmd_fetch(config: Settings, slug: str | None) -> int:
    """Refresh the store for one topic; a line per source; 0 when any source answered."""
    topic = find_topic(load_topics(config.topics_path), slug)
    report = refresh_topic(
        topic,
        Store(config.db_path),
        _now(config),
        FetchLimits(deadline=config.fetch_deadline),
        real_now=datetime.now(UTC),
    )
    _print_reports([report])
    failed = len(report.failed)
    print(f"{len(report.sources) - failed} of {len(report.sources)} sources answered; "
          f"{report.new} new headlines stored in {shown(config.db_path)}")  # fmt: skip
    return 0 if report.any_ok else 1


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def cmd_refresh(config: Settings) -> int:
    """One round of the refresher loop over every topic: each feed no other loop holds,
    once; 0 unless every feed fetched failed."""
    reports = refresh_round(
        config, Store(config.db_path), owner_id(), _wall_clock, every=timedelta(0)
    )
    _print_reports(reports)
    done = [r for report in reports for r in report.sources]
    answered = sum(1 for r in done if r.ok)
    new = sum(report.new for report in reports)
    print(f"{answered} of {len(done)} sources answered; {new} new headlines stored in "
          f"{shown(config.db_path)}")  # fmt: skip
    return 0 if answered or not done else 1


def cmd_serve(config: Settings) -> int:
    """Run the refresher loop until SIGTERM or Ctrl-C; it logs each batch on stderr."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    loop = Refresher(config, _wall_clock)
    signal.signal(signal.SIGTERM, lambda *_: loop.stop_event.set())
    logging.getLogger(__name__).info(
        "refresher %s: every %g s, store %s",
        loop.owner,
        config.refresh_every,
        shown(config.db_path),
    )
    try:
        loop.serve()
    except KeyboardInterrupt:
        loop.stop_event.set()
    return 0


def cmd_check_feed(config: Settings, target: str, as_json: bool) -> int:
    """Parse one feed (URL or file) and print its headlines; 1 when nothing could be read."""
    now = _now(config)
    if target.lower().startswith(("http://", "https://")):
        result = fetch_one(
            make_session(), target, Validators(), FetchLimits(deadline=config.fetch_deadline)
        )
        if result.status is not FetchStatus.OK or result.body is None:
            failure = result.failure or FetchError(target, "no feed received")
            return _fail(target, failure.problem, failure.kind, result.http_status)
        body, url, content_type = result.body, result.final_url or target, result.content_type
        fetched = f"HTTP {result.http_status}, {result.elapsed_ms:.0f} ms, {len(body):,} bytes"
    else:
        path = Path(target)
        try:
            body = path.read_bytes()
        except OSError as exc:
            problem = f"cannot read the file: {exc.strerror or exc}"
            return _fail(target, problem, FailureKind.OTHER)
        url, content_type = path.resolve().as_uri(), None
        fetched = f"file, {len(body):,} bytes"
    try:
        parsed = parse_feed(body, url=url, seen_at=now, content_type=content_type)
    except ParseError as exc:
        return _fail(target, exc.problem, exc.kind)
    if as_json:
        print(to_json(parsed.headlines))
        return 0
    # The same words the Sources page uses for a feed's state.
    print(f"{parsed.feed_title or target}")
    print(f"  status: ok ({fetched})")
    print(f"  format: {parsed.version or 'unknown'}, read as {parsed.encoding}")
    print(f"  items: {len(parsed.headlines)}")
    if parsed.problem:
        print(f"  warning: {parsed.problem}")
        print(f"  what to do: {advice(parsed.problem_kind or FailureKind.OTHER)}")
    for item in parsed.headlines:
        seen = item.time_kind is TimeKind.SEEN
        when = "no date" if seen else f"{item.published:%Y-%m-%d %H:%M} UTC"
        print(f"- {when}  {item.title}  ({item.publication})")
    return 0


def _fail(target: str, problem: str, kind: FailureKind, http_status: int | None = None) -> int:
    """One line on stderr: what went wrong and what to do; exit status 1."""
    print(f"{target}: {problem}. {advice(kind, http_status)}", file=sys.stderr)
    return 1


def cmd_export(config: Settings, fmt: str, slug: str | None) -> int:
    """Print the topic's stored headlines in the window as CSV or JSON."""
    topic = find_topic(load_topics(config.topics_path), slug)
    now = _now(config)
    kept = topic_headlines(Store(config.db_path).headlines(now - WINDOW), topic)
    sys.stdout.write(to_csv(kept) if fmt == "csv" else to_json(kept) + "\n")
    return 0


def open_store(address: str) -> Store:
    """The store at `address` (a file path, or a database URL where the backend takes one)."""
    return Store(address)


# How the summary line names each table's rows.
_COPIED_NAMES = {"headline": "headlines", "story": "stories", "feed": "feed states",
                 "feed_claim": "feed claims", "refresh_request": "refresh requests",
                 "viewer_feed": "viewer feeds"}  # fmt: skip


def cmd_copy_store(source: str, target: str) -> int:
    """Copy every headline (with its story), feed state, claim, request and the store's
    counters from `source` into the empty store at `target`; one line with the counts."""
    if "://" not in source and not Path(source).is_file():
        raise StoreError(source, "does not exist", "give the path of an existing store")
    origin = open_store(source)
    copy = open_store(target)
    if not copy.is_empty():
        raise StoreError(
            shown(target), "is not empty", "copy into a new store, or move this one away"
        )
    counts: dict[str, int] = {}
    # Meta last: a copy cut short never carries the original's version.
    for table in (*[t for t in COPIED_TABLES if t != "meta"], "meta"):
        counts[table] = 0
        for rows in origin.copy_rows(table):
            copy.put_rows(table, rows)
            counts[table] += len(rows)
    said = ", ".join(f"{counts[table]:,} {name}" for table, name in _COPIED_NAMES.items())
    print(f"Copied {said} from {shown(source)} to {shown(target)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m lib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    refresh = commands.add_parser("refresh", help="refresh every topic's due feeds (a round)")
    refresh.add_argument(
        "--serve", action="store_true", help="keep refreshing on schedule until stopped"
    )
    fetch = commands.add_parser("fetch", help="refresh one topic's feeds now")
    fetch.add_argument("--topic", help="topic slug (default: the first topic)")
    check = commands.add_parser("check-feed", help="show how one feed parses")
    check.add_argument("target", metavar="URL_OR_PATH")
    check.add_argument("--json", action="store_true", help="print a JSON array")
    export = commands.add_parser("export", help="print the stored headlines of a topic")
    export.add_argument("--format", choices=("csv", "json"), default="json")
    export.add_argument("--topic", help="topic slug (default: the first topic)")
    copy = commands.add_parser("copy-store", help="copy a whole store into an empty one")
    copy.add_argument("source", metavar="FROM", help="the store to copy (path or URL)")
    copy.add_argument("target", metavar="TO", help="an empty or new store (path or URL)")
    args = parser.parse_args(argv)
    try:
        if args.command == "copy-store":
            return cmd_copy_store(args.source, args.target)
        config = load_settings()
        if args.command == "refresh":
            return cmd_serve(config) if args.serve else cmd_refresh(config)
        if args.command == "fetch":
            return cmd_fetch(config, args.topic)
        if args.command == "check-feed":
            return cmd_check_feed(config, args.target, args.json)
        return cmd_export(config, args.format, args.topic)
    except NewsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
