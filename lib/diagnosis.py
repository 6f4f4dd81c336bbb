"""What a feed's state means and what to do about it, in words, for people.

Shared by the Sources page and `python -m lib check-feed`, so both say the same thing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from lib.model import Source
from lib.store import FeedState

_ADVICE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), advice)
    for pattern, advice in (
        (r"HTTP 40[14]|HTTP 410", "The feed moved or is gone: find its current address on the "
         "publisher's site and update the topics file."),
        (r"HTTP 403|HTTP 401|HTTP 407", "The server refuses the app (login or bot blocking): "
         "use another feed of the same publisher, or drop this one."),
        (r"HTTP 429", "The server asked the app to slow down; it is asked again only after the "
         "time it gave. Nothing to do unless it lasts days."),
        (r"HTTP 5\d\d", "The publisher's server has a problem, usually passing. Nothing to do "
         "unless it lasts a day; then check the feed address."),
        (r"HTTP \d+", "The server answered with an error: open the feed address in a browser to "
         "see what it says."),
        (r"timed out", "The server is too slow: if this lasts, raise NEWS_FETCH_DEADLINE or drop "
         "the feed."),
        (r"host not found|DNS", "The address does not resolve: check it for typos, or whether the "
         "site still exists; check the host's network if every feed says this."),
        (r"connection refused|connection (reset|closed|aborted)", "Nothing answers at that "
         "address: check the port and the address; if every feed says this, the app's host is "
         "offline."),
        (r"TLS|SSL|certificate", "The site's secure connection failed (certificate or TLS "
         "problem at the publisher): try the http:// address or another feed."),
        (r"redirect", "The address redirects badly: open it in a browser and put the final "
         "feed address in the topics file."),
        (r"larger than", "The feed is bigger than the app accepts: use a smaller feed of the "
         "same site (a section feed)."),
        (r"HTML page|web page", "The address is a web page, not a feed: look on that page for "
         "its RSS or Atom link and use that address."),
        (r"JSON", "The address gives JSON, not RSS or Atom: look for the site's RSS feed."),
        (r"not XML|not a feed|malformed|XML error|entities", "The feed is broken at the "
         "publisher: headlines read before stay; check again later or report it to them."),
        (r"empty response|no feed", "The server sent nothing: check the address; it may work "
         "again later."),
        (r"private address|loopback|only http|not allowed|credentials", "That address is not "
         "allowed for a feed added on the page: use a public http(s) feed address."),
        (r"decompress", "The server sent a broken compressed response: usually passing."),
    )
)  # fmt: skip

_GENERIC = "Open the feed address in a browser to see what it gives; it may work next time."


def advice(error: str | None) -> str:
    """What to do about a feed's last error; empty when there is no error."""
    if not error:
        return ""
    for pattern, text in _ADVICE:
        if pattern.search(error):
            return text
    return _GENERIC


def describe_status(
    *,
    last_status: str | None,
    last_success: datetime | None,
    failing_since: datetime | None,
    retry_at: datetime | None,
    now: datetime,
    stamp: Callable[[datetime], str],
) -> str:
    """A feed's state in a few words: ok, not modified, stale, failing since …, waiting."""
    if last_status is None:
        return "not fetched yet"
    if last_status != "failed":
        return "ok" if last_status == "ok" else "not modified"
    waiting = f"; next try {stamp(retry_at)}" if retry_at and retry_at > now else ""
    if last_success is None:
        since = f" since {stamp(failing_since)}" if failing_since else ""
        return f"failing{since}{waiting}"
    return f"stale: showing headlines from {stamp(last_success)}{waiting}"


NOT_FETCHED_ADVICE = "Nothing yet: it is fetched at the next refresh."


def source_health(
    sources: Sequence[Source],
    states: Mapping[str, FeedState],
    kept: Mapping[str, int],
    now: datetime,
    stamp: Callable[[datetime], str],
) -> list[dict[str, object]]:
    """One row per source for the Sources page: state, figures, last error and advice.

    Two feeds of one publication (BBC world and BBC Asia) are told apart by their path.
    """
    names = Counter(source.name for source in sources)
    rows = []
    for source in sources:
        state = states.get(source.url) or FeedState(url=source.url)
        name = source.name
        if names[name] > 1:
            name = f"{name} ({urlsplit(source.url).path.strip('/') or source.url})"
        rows.append(
            {
                "Source": name,
                "Status": describe_status(
                    last_status=state.last_status,
                    last_success=state.last_success,
                    failing_since=state.failing_since,
                    retry_at=state.retry_at,
                    now=now,
                    stamp=stamp,
                ),
                "Last success": stamp(state.last_success) if state.last_success else "never",
                "HTTP": state.http_status,
                "Response ms": round(state.elapsed_ms) if state.elapsed_ms is not None else None,
                "Items in feed": state.items,
                "Kept for topic": kept.get(source.url, 0),
                "Last error": state.last_error or "",
                "What to do": advice(state.last_error)
                if state.last_status is not None
                else NOT_FETCHED_ADVICE,
                "Feed": source.url,
            }
        )
    return rows
