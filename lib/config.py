"""Configuration: the topics file and the few environment variables, read in one place.

No other module reads `os.environ`. Errors name the file, the line and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lib.errors import ConfigError, QuerySyntaxError
from lib.model import Source, Topic
from lib.storedb import Address, is_postgres
from lib.times import EARLIEST, LATEST, read_iso_time, usable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOPICS = PROJECT_ROOT / "data" / "topics.toml"
DEFAULT_DB = PROJECT_ROOT / "data" / "news.db"
DEFAULT_SNAPSHOT = PROJECT_ROOT / "data" / "snapshot"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_MAX_SECONDS = 7 * 24 * 3600  # the longest cache or fetch deadline an operator may set


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the environment decides. Built by `load_settings`."""

    topics_path: Path = DEFAULT_TOPICS
    # NEWS_DB: the store: a SQLite file path (default), or a PostgreSQL URL (a str, kept as
    # written: a Path would fold its "//").
    db_path: Address = DEFAULT_DB
    snapshot_dir: Path = DEFAULT_SNAPSHOT
    offline: bool = False  # NEWS_OFFLINE: never touch the network, show the bundled snapshot
    # NEWS_CLOCK, for display and tests: the time the page shows and the window it lists;
    # what the store keeps and prunes still follows the wall clock.
    clock: datetime | None = None
    cache_ttl: float = 300.0  # NEWS_CACHE_TTL: seconds a fetch of viewer feeds is reused
    fetch_deadline: float = 20.0  # NEWS_FETCH_DEADLINE: seconds one refresh may take in all
    allow_private_hosts: bool = False  # NEWS_ALLOW_PRIVATE_HOSTS: user feeds may be on a LAN
    refresh_every: float = 300.0  # NEWS_REFRESH_EVERY: seconds between two fetches of a feed
    # NEWS_REFRESH: "app" (default): each app server runs a refresher loop; "external": the
    # loop runs elsewhere (`python -m lib refresh --serve`, cron) and app servers only read.
    refresh: str = "app"
    # NEWS_REFRESH_LEASE: seconds a refresher's claim on a feed holds (default: the fetch
    # deadline + the parse time limit + 15 s); a loop that dies is replaced after it.
    refresh_lease: float | None = None
    # NEWS_PUBLIC_URL: the address viewers reach the app at (http/https, ending in "/"):
    # feed channel links and subscribe addresses start with it. None: the request's own.
    public_url: str | None = None
    # NEWS_FEED_LIMIT: feed, OPML and status requests one client may make per minute.
    feed_limit: int = 60


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"environment variable {name}", f"expected 1 or 0, got {raw!r}")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    # Not more than a week: "inf", "nan" or 1e300 seconds overflow the time arithmetic.
    if not 0 < value <= _MAX_SECONDS:
        raise ConfigError(
            f"environment variable {name}",
            f"expected a positive number of seconds up to {_MAX_SECONDS}, got {raw!r}",
        )
    return value


_CLOCK_EXAMPLE = "2024-09-18T04:22:00+01:00"


def parse_clock(raw: str) -> datetime:
    """Read an ISO 8601 time as an aware UTC datetime; a time without offset is UTC.

    Only times from 1970 to 9998 are accepted: nearer the calendar's ends, the page's
    zone conversions and its 7-day window would run out of years.
    """
    value = read_iso_time(raw.strip())
    if value is None or not usable(value):
        raise ConfigError(
            "environment variable NEWS_CLOCK",
            f"{raw!r} is not an ISO 8601 time between the years {EARLIEST.year} and "
            f"{LATEST.year - 1}, such as {_CLOCK_EXAMPLE}",
        )
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from the environment (or the mapping given)."""
    env = os.environ if env is None else env
    clock_raw = env.get("NEWS_CLOCK", "").strip()
    return Settings(
        topics_path=Path(env.get("NEWS_TOPICS") or DEFAULT_TOPICS),
        db_path=_store_address(env.get("NEWS_DB", "").strip()),
        snapshot_dir=Path(env.get("NEWS_SNAPSHOT") or DEFAULT_SNAPSHOT),
        offline=_flag(env, "NEWS_OFFLINE"),
        clock=parse_clock(clock_raw) if clock_raw else None,
        cache_ttl=_seconds(env, "NEWS_CACHE_TTL", 300.0),
        fetch_deadline=_seconds(env, "NEWS_FETCH_DEADLINE", 20.0),
        allow_private_hosts=_flag(env, "NEWS_ALLOW_PRIVATE_HOSTS"),
        refresh_every=_seconds(env, "NEWS_REFRESH_EVERY", 300.0),
        refresh=_choice(env, "NEWS_REFRESH", ("app", "external")),
        refresh_lease=_seconds(env, "NEWS_REFRESH_LEASE", 0.0) or None,
        public_url=parse_public_url(env.get("NEWS_PUBLIC_URL", "")),
        feed_limit=_count(env, "NEWS_FEED_LIMIT", 60),
    )


def parse_public_url(raw: str) -> str | None:
    """NEWS_PUBLIC_URL as a base address ending in "/", or None when unset.

    Only an http or https address with a host and no query, fragment or user name: it is
    written into every feed's links, so anything a reader could misread is refused here.
    """
    raw = raw.strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    problem = None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        problem = "expected an http:// or https:// address such as https://news.example.org/"
    elif parts.query or parts.fragment or "@" in parts.netloc or raw.endswith(("?", "#")):
        problem = "the address may not carry a query, a fragment or a user name"
    elif any(char.isspace() or ord(char) < 32 for char in raw):
        problem = "the address may not hold spaces or control characters"
    else:
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            problem = "the address has a port that is not a number from 0 to 65535"
    if problem:
        raise ConfigError("environment variable NEWS_PUBLIC_URL", f"{problem}, got {raw!r}")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= 1_000_000:
        raise ConfigError(
            f"environment variable {name}",
            f"expected a whole number from 1 to 1000000, got {raw!r}",
        )
    return int(raw)


def _store_address(raw: str) -> Address:
    """NEWS_DB: a PostgreSQL URL as given, or else a file path (the default when unset)."""
    if is_postgres(raw):
        return raw
    return Path(raw) if raw else DEFAULT_DB


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first when unset)."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise ConfigError(
            f"environment variable {name}", f"expected {' or '.join(choices)}, got {raw!r}"
        )
    return raw


# --- the topics file -------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[\s*(topic(?:\s*\.\s*source)?)\s*\]\]")
_TOPIC_KEYS = {"slug", "title", "about", "query", "timezone", "source"}
_SOURCE_KEYS = {"name", "url", "topical", "label"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _header_lines(text: str) -> tuple[list[int], list[list[int]]]:
    """Line numbers of each `[[topic]]` and, per topic, of each `[[topic.source]]`."""
    topics: list[int] = []
    sources: list[list[int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if not match:
            continue
        if match.group(1) == "topic":
            topics.append(number)
            sources.append([])
        elif sources:
            sources[-1].append(number)
    return topics, sources


def _line_of(lines: list[int], index: int) -> int | None:
    return lines[index] if index < len(lines) else None


def _text(table: Mapping[str, Any], key: str, path: str, line: int | None, what: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(path, f"{what} needs a non-empty text value for '{key}'", line)
    return value.strip()


def _source(raw: Any, path: str, line: int | None, topic_slug: str) -> Source:
    what = f"a source of topic '{topic_slug}'"
    if not isinstance(raw, dict):
        raise ConfigError(path, f"{what} must be a [[topic.source]] table", line)
    unknown = set(raw) - _SOURCE_KEYS
    if unknown:
        raise ConfigError(path, f"{what} has unknown key(s): {', '.join(sorted(unknown))}", line)
    name = _text(raw, "name", path, line, what)
    url = _text(raw, "url", path, line, f"source '{name}'")
    if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
        raise ConfigError(path, f"source '{name}' needs an http:// or https:// url", line)
    topical = raw.get("topical", False)
    if not isinstance(topical, bool):
        raise ConfigError(path, f"source '{name}': 'topical' must be true or false", line)
    label = raw.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise ConfigError(path, f"source '{name}': 'label' must be a non-empty text", line)
    return Source(name=name, url=url, topical=topical, label=label.strip() if label else None)


def _topic(raw: Any, path: str, line: int | None, source_lines: list[int]) -> Topic:
    if not isinstance(raw, dict):
        raise ConfigError(path, "each topic must be a [[topic]] table", line)
    unknown = set(raw) - _TOPIC_KEYS
    if unknown:
        raise ConfigError(path, f"topic has unknown key(s): {', '.join(sorted(unknown))}", line)
    slug = _text(raw, "slug", path, line, "a topic")
    if not _SLUG.match(slug):
        raise ConfigError(
            path, f"slug '{slug}' may hold only lower-case letters, digits and '-'", line
        )
    what = f"topic '{slug}'"
    title = _text(raw, "title", path, line, what)
    about = raw.get("about", "")
    if not isinstance(about, str):
        raise ConfigError(path, f"{what}: 'about' must be text", line)
    query = _text(raw, "query", path, line, what)
    try:
        from lib.query import parse_query  # local import: query imports nothing from config

        parse_query(query)
    except QuerySyntaxError as exc:
        raise ConfigError(path, f"{what}: query is not valid: {exc.problem}", line) from exc
    zone = raw.get("timezone", "UTC")
    try:
        ZoneInfo(zone) if isinstance(zone, str) else None
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "America", a folder
        raise ConfigError(path, f"{what}: unknown timezone '{zone}'", line) from exc
    if not isinstance(zone, str):
        raise ConfigError(path, f"{what}: 'timezone' must be a zone name such as 'UTC'", line)
    raw_sources = raw.get("source", [])
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError(path, f"{what} needs at least one [[topic.source]]", line)
    sources = tuple(
        _source(item, path, _line_of(source_lines, index) or line, slug)
        for index, item in enumerate(raw_sources)
    )
    seen: set[str] = set()
    for index, source in enumerate(sources):
        if source.url in seen:
            raise ConfigError(
                path,
                f"{what} lists the url {source.url} twice",
                _line_of(source_lines, index) or line,
            )
        seen.add(source.url)
    return Topic(
        slug=slug, title=title, about=about.strip(), query=query, timezone=zone, sources=sources
    )


def parse_topics(text: str, path: str = "topics.toml") -> tuple[Topic, ...]:
    """Read the text of a topics file into topics, or raise `ConfigError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 12, column 5)": lift the line out into our own message.
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(match.group(1)) if match else None
        raise ConfigError(path, f"not valid TOML: {problem}", line) from exc
    unknown = set(data) - {"topic"}
    if unknown:
        raise ConfigError(path, f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    raw_topics = data.get("topic")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise ConfigError(path, "needs at least one [[topic]] table")
    topic_lines, source_lines = _header_lines(text)
    topics = tuple(
        _topic(
            raw,
            path,
            _line_of(topic_lines, index),
            source_lines[index] if index < len(source_lines) else [],
        )
        for index, raw in enumerate(raw_topics)
    )
    slugs = [topic.slug for topic in topics]
    for index, slug in enumerate(slugs):
        if slug in slugs[:index]:
            raise ConfigError(path, f"topic slug '{slug}' is used twice", topic_lines[index])
    return topics


def load_topics(path: Path) -> tuple[Topic, ...]:
    """Read and check the topics file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found; set NEWS_TOPICS to a topics file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read: {exc}") from exc
    return parse_topics(text, str(path))


def find_topic(topics: tuple[Topic, ...], slug: str | None) -> Topic:
    """The topic with `slug`, or the first topic when `slug` is None."""
    if slug is None:
        return topics[0]
    for topic in topics:
        if topic.slug == slug:
            return topic
    known = ", ".join(t.slug for t in topics)
    raise ConfigError("topics file", f"no topic '{slug}'; known topics: {known}")
