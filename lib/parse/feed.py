"""Turn a downloaded feed's bytes into `Headline` records.

The steps: decide the encoding and transcode to UTF-8 (feedparser guesses badly on
undeclared Cyrillic and Chinese feeds), let feedparser read the XML, then clean what it
gives: plain-text titles and summaries, only http(s) links, trusted UTC times.

Entities: a document that declares XML entities is refused. expat (feedparser's strict
parser) does not load external entities, but feedparser keeps "safe" internal ones for
its lenient parser, which expands them without limit: a 100 KB entity used 2,000 times
gives a 200 MB summary. Feeds have no use for entity declarations; an external DTD such as
RSS 0.91's is fine, as nothing loads it.
"""

from __future__ import annotations

import hashlib
import io
import re
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

import feedparser

from lib.errors import FailureKind, ParseError
from lib.model import Headline, Source
from lib.parse.dates import entry_time
from lib.parse.encoding import decode, with_utf8_declaration
from lib.parse.text import (
    CONTROL,
    clean_field,
    clean_text,
    clean_title,
    is_html,
    safe_link,
    strip_publication,
)

SUMMARY_LIMIT = 1000  # characters of summary kept per item
_SUMMARY_RAW_LIMIT = 20_000  # raw summary characters looked at; full articles can be huge
_AUTHOR_LIMIT = 200  # feedparser's author e-mail regex is quadratic in the author's length
# What reading one item's odd values can raise; the item is skipped and counted. Narrow on
# purpose: a time limit's exception or an interrupt must still stop the whole parse.
_ITEM_ERRORS = (ValueError, TypeError, OverflowError, LookupError, AttributeError, RecursionError)

_CONTENT_TYPE = "application/xml; charset=utf-8"

_LONG_AUTHOR = re.compile(
    rb"(<(?:[\w.-]+:)?(?:author|creator|name|email|managingEditor|webMaster|contributor)"
    rb"\b[^<>]*>(?:<!\[CDATA\[)?)([^<\]]{%d})[^<\]]*" % _AUTHOR_LIMIT
)


_HTML_START = re.compile(r"<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_SKIPPABLE = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?!\s+html\b)[^>]*>)", re.S | re.I)
_SPACE = re.compile(r"\s*")
# What may come before the root element: space, processing instructions, comments and a
# DOCTYPE with its internal subset. Possessive, so hostile input cannot make it backtrack;
# where it stops short of an element, the whole document is searched instead.
_PROLOG = re.compile(
    r"""(?:\s++|<\?.*?\?>|<!--.*?-->"""
    r"""|<!DOCTYPE(?:[^\["'>]++|"[^"]*+"|'[^']*+'|\[(?:[^\]"'<]++|"[^"]*+"|'[^']*+'|<)*+\])*+>)*+""",
    re.S | re.I,
)
_ELEMENT_START = re.compile(r"<[^!?/\s]")
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.I)
_ENTRY_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})
_EOF_ERRORS = frozenset(
    {
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
        expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
    }
)
# The loose parser reads HTML entities such as &nbsp; in RSS correctly: not worth a warning.
_HARMLESS_XML_ERRORS = frozenset({expat.errors.XML_ERROR_UNDEFINED_ENTITY})


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document held, and how it was read."""

    headlines: tuple[Headline, ...]
    feed_title: str | None
    version: str  # feedparser's version string: "rss20", "atom10", "rss10", "rss091u", ...
    encoding: str  # the encoding the bytes were read as (a Python codec name)
    problem: str | None  # a short warning when the feed was only partly readable
    # MALFORMED when the XML was broken, OTHER when only some items were unreadable.
    problem_kind: FailureKind | None = None


def parse_feed(
    body: bytes,
    *,
    url: str,
    seen_at: datetime,
    source: Source | None = None,
    content_type: str | None = None,
) -> ParsedFeed:
    """Read a feed's bytes into headlines; raise `ParseError` when there is no feed.

    `url` is the feed's final URL (relative links resolve against it); `seen_at` is the
    aware time the bytes were fetched, used for items without a trusted date.
    """
    if seen_at.tzinfo is None:
        raise ValueError("seen_at must be an aware datetime")
    seen_at = seen_at.astimezone(UTC)
    if not body.strip():
        raise ParseError(url, FailureKind.EMPTY, parsed=True)

    text, encoding = decode(body, content_type)
    text = with_utf8_declaration(text.lstrip())
    if _looks_like_html(text):
        raise ParseError(url, FailureKind.HTML)
    if _declares_entities(text):
        raise ParseError(url, FailureKind.ENTITIES)
    data = text.encode("utf-8", "replace")
    if _LONG_AUTHOR.search(data):
        data = _LONG_AUTHOR.sub(rb"\1\2", data)

    try:
        result = feedparser.parse(
            io.BytesIO(data),
            # No content-location: feedparser would urljoin every element (40% of its time);
            # the one link we keep is resolved against the feed URL in safe_link instead.
            response_headers={"content-type": _CONTENT_TYPE},
            # Both only rewrite HTML inside text fields; we strip the tags anyway.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as error:  # feedparser should not raise, but hostile bytes find ways
        raise ParseError(url, FailureKind.UNREADABLE, error=type(error).__name__) from error

    entries: list[Any] = result.get("entries") or []
    version: str = result.get("version") or ""
    error = result.get("bozo_exception") if result.get("bozo") else None
    sax_error = error if isinstance(error, xml.sax.SAXParseException) else None

    problem = None
    if sax_error is not None:
        message = sax_error.getMessage()
        line = sax_error.getLineNumber()
        if message in _EOF_ERRORS:
            # The XML was cut off; everything before the break is well-formed, so the
            # closed entries are complete and the last one may be a fragment.
            entries = entries[: len(_ENTRY_END.findall(text))]
            if not entries and version:
                raise ParseError(url, FailureKind.CUT_OFF, line=line)
            if entries:
                problem = f"feed is malformed after item {len(entries)}; kept what came before"
        elif message not in _HARMLESS_XML_ERRORS and (entries or version):
            problem = f"feed has an XML error at line {line} ({message}); read it leniently"

    if not entries and not version:
        raise _not_a_feed(url, text, sax_error)

    feed = result.get("feed") or {}
    feed_title = clean_field(feed, "title") or None
    if source is not None and source.name:
        default_publication = source.name
    else:  # a viewer's feed added by its address has no name: its own title names it
        default_publication = feed_title or urlsplit(url).hostname or url

    headlines = []
    skipped = 0
    seen_ts = seen_at.timestamp()
    for entry in entries:
        try:
            headline = _headline(entry, url, seen_at, seen_ts, source, default_publication)
        except _ITEM_ERRORS:  # one hostile item must not cost the feed its other items
            skipped += 1
            continue
        if headline is not None:
            headlines.append(headline)
    problem_kind = FailureKind.MALFORMED if problem else None
    if skipped:
        note = f"{skipped} unreadable item{'s' if skipped > 1 else ''} skipped"
        problem = f"{problem}; {note}" if problem else note
        problem_kind = problem_kind or FailureKind.OTHER
    return ParsedFeed(
        headlines=tuple(headlines),
        feed_title=feed_title,
        version=version,
        encoding=encoding,
        problem=problem,
        problem_kind=problem_kind,
    )


def _headline(
    entry: Mapping[str, Any],
    url: str,
    seen_at: datetime,
    seen_ts: float,
    source: Source | None,
    default_publication: str,
) -> Headline | None:
    """One entry as a Headline, or None when it has no title."""
    # dict.get, not entry.get: FeedParserDict maps missing keys to others ("updated"
    # falls back to "published"), and skipping its lookup is faster too.
    title = clean_field(entry, "title")
    if not title:
        return None
    publication = default_publication
    origin = dict.get(entry, "source")
    if origin:
        origin_title = clean_title(dict.get(origin, "title") or "", html=False)
        if origin_title:
            publication = origin_title
            title = strip_publication(title, origin_title)

    raw_link = dict.get(entry, "link")
    link = safe_link(raw_link, url)
    guid = (dict.get(entry, "id") or "").strip() or (raw_link or "").strip()
    if not guid:
        guid = hashlib.sha1(f"{publication}\n{title}".encode()).hexdigest()
    published, kind = entry_time(entry, seen_at, seen_ts)

    summary = ""
    raw_summary = dict.get(entry, "summary")
    if raw_summary:
        detail = dict.get(entry, "summary_detail")
        summary = clean_text(raw_summary[:_SUMMARY_RAW_LIMIT], is_html(detail))
        summary = summary[:SUMMARY_LIMIT].rstrip()

    return Headline(
        title=title,
        link=link,
        publication=publication,
        label=source.label if source is not None else None,
        published=published,
        source=source.url if source is not None else url,
        guid=guid,
        time_kind=kind,
        summary=summary,
    )


def _looks_like_html(text: str) -> bool:
    """Whether the document's first element (or doctype) is an HTML page's."""
    return bool(_HTML_START.match(text, _content_start(text[:4096])))


def _not_a_feed(url: str, text: str, sax_error: xml.sax.SAXParseException | None) -> ParseError:
    """Why a document feedparser found nothing in is not a feed."""
    start = _content_start(text)
    if _HTML_START.search(text, start, start + 2048):
        return ParseError(url, FailureKind.HTML)
    root = _ROOT.match(text, start)
    if root is None:
        preview = " ".join(CONTROL.sub("", text[start : start + 40]).split())
        if preview and preview[0] in "{[":
            return ParseError(url, FailureKind.JSON)
        return ParseError(url, FailureKind.NOT_XML, preview=preview[:30])
    name = root.group(1)
    if name.rpartition(":")[2].lower() in _FEED_ROOTS:
        reason = sax_error.getMessage() if sax_error is not None else "no feed elements found"
        return ParseError(url, FailureKind.MALFORMED, reason=reason)
    return ParseError(url, FailureKind.NOT_A_FEED, root=name)


def _content_start(text: str) -> int:
    """Where the first element or HTML doctype starts, after declarations and comments."""
    position = 0
    while (match := _SKIPPABLE.match(text, position)) and match.end() > position:
        position = match.end()
    return _SPACE.match(text, position).end()  # type: ignore[union-attr]


def _declares_entities(text: str) -> bool:
    """Whether the document declares XML entities before its root element.

    When the prolog cannot be read up to an element, any `<!ENTITY` anywhere counts.
    """
    end = _PROLOG.match(text).end()  # type: ignore[union-attr]
    if _ELEMENT_START.match(text, end):
        return _ENTITY_DECLARATION.search(text, 0, end) is not None
    return _ENTITY_DECLARATION.search(text) is not None
