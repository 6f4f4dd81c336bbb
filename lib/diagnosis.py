"""What a feed's state means and what to do about it, in words, for people.

Shared by the Sources page and `python -m lib check-feed`, so both say the same thing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from lib.errors import FailureKind
from lib.fetch import FetchStatus
from lib.model import Source
from lib.store import FeedState

_MOVED = (
    "The feed moved or is gone: find its current address on the publisher's site and update "
    "the topics file."
)
_REFUSES = (
    "The server refuses the app (login or bot blocking): use another feed of the same "
    "publisher, or drop this one."
)
_SLOW_DOWN = (
    "The server asked the app to slow down; it is asked again only after the time it gave. "
    "Nothing to do unless it lasts days."
)
_SERVER_PROBLEM = (
    "The publisher's server has a problem, usually passing. Nothing to do unless it lasts a "
    "day; then check the feed address."
)
_SERVER_ERROR = (
    "The server answered with an error: open the feed address in a browser to see what it says."
)
_NOTHING_ANSWERS = (
    "Nothing answers at that address: check the port and the address; if every feed says "
    "this, the app's host is offline."
)
_REDIRECTS = (
    "The address redirects badly: open it in a browser and put the final feed address in the "
    "topics file."
)
_BROKEN = (
    "The feed is broken at the publisher: headlines read before stay; check again later or "
    "report it to them."
)
_GENERIC = "Open the feed address in a browser to see what it gives; it may work next time."

# The advice for each kind of failure; an HTTP error's depends on its status (`_http_advice`).
_ADVICE: dict[FailureKind, str] = {
    FailureKind.HTTP: _SERVER_ERROR,
    FailureKind.TIMEOUT: "The server is too slow: if this lasts, raise NEWS_FETCH_DEADLINE or "
    "drop the feed.",
    FailureKind.DNS: "The address does not resolve: check it for typos, or whether the site "
    "still exists; check the host's network if every feed says this.",
    FailureKind.REFUSED: _NOTHING_ANSWERS,
    FailureKind.RESET: _NOTHING_ANSWERS,
    FailureKind.CLOSED: _NOTHING_ANSWERS,
    FailureKind.TLS: "The site's secure connection failed (certificate or TLS problem at the "
    "publisher): try the http:// address or another feed.",
    FailureKind.BAD_REDIRECT: _REDIRECTS,
    FailureKind.REDIRECT_LOOP: _REDIRECTS,
    FailureKind.TOO_MANY_REDIRECTS: _REDIRECTS,
    FailureKind.TOO_LARGE: "The feed is bigger than the app accepts: use a smaller feed of the "
    "same site (a section feed).",
    FailureKind.HTML: "The address is a web page, not a feed: look on that page for its RSS or "
    "Atom link and use that address.",
    FailureKind.JSON: "The address gives JSON, not RSS or Atom: look for the site's RSS feed.",
    FailureKind.ENTITIES: _BROKEN,
    FailureKind.NOT_XML: _BROKEN,
    FailureKind.NOT_A_FEED: _BROKEN,
    FailureKind.MALFORMED: _BROKEN,
    FailureKind.PARSE_TIMEOUT: _BROKEN,
    FailureKind.EMPTY: "The server sent nothing: check the address; it may work again later.",
    FailureKind.UNSAFE: "That address is not allowed for a feed added on the page: use a "
    "public http(s) feed address.",
    FailureKind.DECOMPRESS: "The server sent a broken compressed response: usually passing.",
}


def advice(
    kind: FailureKind | None,
    http_status: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> str:
    """What to do about a feed's failure of `kind` (with its HTTP status, and its data when
    known: `lib.errors.FeedError.data`); empty when there is none."""
    if kind is None:
        return ""
    if kind is FailureKind.HTTP and http_status is not None:
        return _http_advice(http_status)
    if kind is FailureKind.UNSAFE and data is not None:
        return _unsafe_advice(data)
    return _ADVICE.get(kind, _GENERIC)


# The URL guard's rules whose refusal says the address is not allowed; the others (a
# link-local or metadata address, a user name in the URL, …) get the general advice.
_NOT_ALLOWED_RULES = frozenset({"loopback", "private", "scheme"})


def _unsafe_advice(data: Mapping[str, Any]) -> str:
    if data.get("redirected"):  # the address itself was fine: where it leads is not
        return _REDIRECTS
    return _ADVICE[FailureKind.UNSAFE] if data.get("rule") in _NOT_ALLOWED_RULES else _GENERIC


def _http_advice(status: int) -> str:
    if status in (404, 410):
        return _MOVED
    if status in (401, 403, 407):
        return _REFUSES
    if status == 429:
        return _SLOW_DOWN
    if 500 <= status <= 599:
        return _SERVER_PROBLEM
    return _SERVER_ERROR


def _state_advice(state: FeedState) -> str:
    if not is_failing(state):
        return ""
    return advice(state.kind or FailureKind.OTHER, state.http_status, state.failure_data)


def is_failing(state: FeedState) -> bool:
    """Whether the feed's last attempt failed (it may still show older headlines)."""
    return state.last_status == FetchStatus.FAILED


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
    if last_status != FetchStatus.FAILED:
        return "ok" if last_status == FetchStatus.OK else "not modified"
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
                "What to do": _state_advice(state)
                if state.last_status is not None
                else NOT_FETCHED_ADVICE,
                "Feed": source.url,
            }
        )
    return rows
