"""Turn a downloaded feed's bytes into `Headline` records.

The steps: decide the encoding and transcode to UTF-8 (feedparser guesses badly on
undeclared Cyrillic and Chinese feeds), let feedparser read the XML, then clean what it
gives: plain-text titles and summaries, only http(s) links, trusted UTC times.

Encoding rule (`detect_encoding`):
1. A byte-order mark wins (and BOM-less UTF-16/32, recognised by the `<` of the document).
2. Then the charset in the Content-Type header, then the XML declaration's encoding. A
   declared encoding is used only if the bytes decode with it without error; a
   single-byte declaration (ISO-8859-1, windows-1251, ...) loses to bytes that are valid
   UTF-8 and not plain ASCII, because servers often label UTF-8 feeds with a stale
   default charset while real single-byte text is almost never valid UTF-8.
   GB2312/GBK are read as GB18030 (a superset); a declared ASCII is read as UTF-8.
3. With nothing usable declared: UTF-8 if the bytes are valid UTF-8.
4. Otherwise detect. charset-normalizer alone is unreliable on short feeds (it reads a
   one-word windows-1251 title as Shift-JIS), so each of GB18030, Big5, Shift-JIS,
   windows-1251, KOI8-R, windows-1252 and charset-normalizer's own guess is tried on a
   sample, and the strict decoding whose non-ASCII characters look most like real text
   wins; ties go to the earlier candidate. See `_plausibility` for the score.

Title rule (`clean_title`): feedparser reports whether a title is HTML or plain text
(for RSS it guesses, from closing tags and entities). HTML titles lose their tags and
then have entities decoded once, so `<b>Bold</b>` gives "Bold" and a double-encoded
`&amp;amp;` gives "&". Plain-text titles keep `<` and `>` as written, so an RSS title
whose text is `<script> tag explained` stays that literal text; entities are still
decoded once in plain text, to undo double-encoding. Entities need their `;`.
Markdown- or LaTeX-looking characters are kept as they are: escaping is the renderer's job.

Date rule (`read_date`): feedparser reads neither month names in other languages nor
`2024/09/18` (it makes that 1 November), and it takes unknown zone names such as CEST for
UTC. So each item's raw date is read by `read_date` first, and feedparser's reading is
used only when `read_date` declines. Dates more than 10 minutes ahead of the fetch, before
1990 or unreadable are not trusted: such items are placed at the time they were seen.

Entities: a document that declares XML entities is refused. expat (feedparser's strict
parser) does not load external entities, but feedparser keeps "safe" internal ones for
its lenient parser, which expands them without limit: a 100 KB entity used 2,000 times
gives a 200 MB summary. Feeds have no use for entity declarations; an external DTD such as
RSS 0.91's is fine, as nothing loads it.
"""

from __future__ import annotations

import calendar
import codecs
import contextlib
import functools
import hashlib
import html
import html.entities
import io
import re
import unicodedata
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

import feedparser
from charset_normalizer import from_bytes

from lib.errors import FailureKind, ParseError
from lib.model import Headline, Source, TimeKind

SUMMARY_LIMIT = 1000  # characters of summary kept per item
_SUMMARY_RAW_LIMIT = 20_000  # raw summary characters looked at; full articles can be huge
_EARLIEST = calendar.timegm((1990, 1, 1, 0, 0, 0))  # older dates are placeholders or errors
_FUTURE_SLACK = 600  # seconds a date may lie ahead of seen_at (clock skew) and be trusted
_AUTHOR_LIMIT = 200  # feedparser's author e-mail regex is quadratic in the author's length
# What reading one item's odd values can raise; the item is skipped and counted. Narrow on
# purpose: a time limit's exception or an interrupt must still stop the whole parse.
_ITEM_ERRORS = (ValueError, TypeError, OverflowError, LookupError, AttributeError, RecursionError)

_UTF8_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
_CONTENT_TYPE = "application/xml; charset=utf-8"

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# Declared names read as a superset, the way browsers do.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "ascii": "utf-8", "utf-8-sig": "utf-8"}
# Tried in this order when nothing is declared; ties go to the earlier one.
_CANDIDATES = ("gb18030", "big5", "shift_jis", "cp1251", "koi8-r", "cp1252")
_SAMPLE_SIZE = 12_288  # bytes scored when detecting: enough text, bounded time

_XML_DECLARATION = re.compile(r"<\?xml(?:\s[^>]*)?\?>")
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_NON_ASCII_BYTE = re.compile(rb"[\x80-\xff]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_LONG_AUTHOR = re.compile(
    rb"(<(?:[\w.-]+:)?(?:author|creator|name|email|managingEditor|webMaster|contributor)"
    rb"\b[^<>]*>(?:<!\[CDATA\[)?)([^<\]]{%d})[^<\]]*" % _AUTHOR_LIMIT
)

_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
# Tags that separate words: replaced by a space, other tags by nothing ("Bo<b>ld</b>").
_BLOCK_TAG = re.compile(
    r"</?(?:br|p|div|li|ul|ol|dl|dt|dd|tr|td|th|h[1-6]|table|blockquote|hr|img|figure"
    r"|figcaption|section|article|header|footer|pre)\b[^<>]*>",
    re.I,
)
_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]*|!--.*?--|![^<>]*|\?[^<>]*)>", re.S)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|([A-Za-z][A-Za-z0-9]{1,31}));")
# Controls and bidi overrides that would garble a line; whitespace controls are left
# for str.split, which collapses them.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_LINK_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_HTTP_URL = re.compile(r"https?://[^/?#]", re.I)
_SUFFIX_SEPARATORS = (" - ", " | ", " — ", " – ")

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

# (raw string, feedparser's reading, what it is)
_DATE_KEYS = (
    ("published", "published_parsed", TimeKind.PUBLISHED),
    ("updated", "updated_parsed", TimeKind.UPDATED),
)
# Per codec: the charset that ranks Han characters, and lead-byte ranges of its common
# (GB2312 level 1, Big5 frequent, JIS level 1) and less common characters.
_HAN_RANKING = {
    "gb18030": ("gb2312", 0xB0, 0xD7, 0xF7),
    "big5": ("big5", 0xA4, 0xC6, 0xF9),
    "shift_jis": ("shift_jis", 0x88, 0x98, 0xEA),
}
# The ten most frequent Russian letters: windows-1251 and KOI8-R map the same bytes to
# different letters, so frequency tells them apart.
_RU_FREQUENT = frozenset("оеаинтсрвл")
# Subtracted from a candidate's score: KOI8-R is rare today and must win clearly.
_PRIOR_PENALTY = {"koi8-r": 0.15}


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

    text, encoding = _decode(body, content_type)
    text = _with_utf8_declaration(text.lstrip())
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
    feed_title = _clean_field(feed, "title") or None
    if source is not None:
        default_publication = source.name
    else:
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
    title = _clean_field(entry, "title")
    if not title:
        return None
    publication = default_publication
    origin = dict.get(entry, "source")
    if origin:
        origin_title = clean_title(dict.get(origin, "title") or "", html=False)
        if origin_title:
            publication = origin_title
            title = _strip_publication(title, origin_title)

    raw_link = dict.get(entry, "link")
    link = safe_link(raw_link, url)
    guid = (dict.get(entry, "id") or "").strip() or (raw_link or "").strip()
    if not guid:
        guid = hashlib.sha1(f"{publication}\n{title}".encode()).hexdigest()
    published, kind = _entry_time(entry, seen_at, seen_ts)

    summary = ""
    raw_summary = dict.get(entry, "summary")
    if raw_summary:
        detail = dict.get(entry, "summary_detail")
        summary = _clean_text(raw_summary[:_SUMMARY_RAW_LIMIT], _is_html(detail))
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


def _entry_time(
    entry: Mapping[str, Any], seen_at: datetime, seen_ts: float
) -> tuple[datetime, TimeKind]:
    """The entry's first trusted date (published, then updated), else seen_at."""
    for raw_key, parsed_key, kind in _DATE_KEYS:
        stamp = _timestamp(dict.get(entry, raw_key), dict.get(entry, parsed_key))
        if stamp is not None and _EARLIEST <= stamp <= seen_ts + _FUTURE_SLACK:
            return datetime.fromtimestamp(stamp, UTC), kind
    return seen_at, TimeKind.SEEN


def _timestamp(raw: object, parsed: object) -> float | None:
    """A date's POSIX time: our reading of the raw text, else feedparser's, else None."""
    if isinstance(raw, str) and raw:
        read = read_date(raw)
        if read is not None:
            return read.timestamp()
    if parsed is None:
        return None
    try:
        # feedparser's struct_time is UTC: timegm, never mktime (local time).
        return calendar.timegm(parsed)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def read_date(text: str) -> datetime | None:
    """The aware UTC time a feed's date text means, or None when it is not sure.

    Reads a day, a month and a four-digit year in any order, with the month as a name
    (English, German, French, Spanish, Italian, Portuguese, Dutch or Russian; full,
    genitive or abbreviated; any case, accents optional) or as numbers (2024-09-18,
    2024/09/18, 18.09.2024), then a time of day `HH:MM[:SS]` (am/pm allowed) and an
    optional zone: a numeric offset (+0200, +02:00, GMT+3) or a common abbreviation
    (GMT, CEST, MSK, EST, ...). No zone means UTC; a comment in parentheses after the
    offset is ignored, as are weekday names. None for anything else: two-digit years,
    month/day orders that need guessing (09/18/2024), unknown zones, a date without a
    time of day, which midnight would misplace, and a date that falls outside Python's
    calendar once in UTC (31 Dec 9999 at -14:00). Never raises.
    """
    if len(text) > _DATE_TEXT_LIMIT:
        return None
    folded = _fold(text)
    clock = _CLOCK.search(folded)
    if clock is None:
        return None
    hour, minute = int(clock[1]), int(clock[2])
    second = int(clock[3] or 0)
    second = 59 if second == 60 else second  # a leap second: the minute's last
    tail = folded[clock.end() :]
    meridiem = _MERIDIEM.match(tail)
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem[1] == "p" else 0)
        tail = tail[meridiem.end() :]
    offset, tail = _zone(tail)
    if offset is None:
        return None
    # After the time only a date may follow ("04:22, 18 Sep 2024"): "04:22 Moscow time"
    # is not UTC, so other words there make the date unreadable. Before it, words are
    # weekdays and the like, and are ignored.
    tail = _COMMENT.sub(" ", tail)
    if any(word.isalpha() and word not in _MONTHS for word in _WORD_OR_NUMBER.findall(tail)):
        return None
    day = _day(folded[: clock.start()] + " " + tail)
    if day is None:
        return None
    try:
        local = datetime(*day, hour, minute, second, tzinfo=timezone(offset))
        # Overflows at the calendar's ends: 9999-12-31 at -14:00 is in year 10000 in UTC.
        return local.astimezone(UTC)
    except (ValueError, OverflowError):  # 31 September, hour 24, year 0, ...
        return None


def _zone(tail: str) -> tuple[timedelta | None, str]:
    """The UTC offset at the start of `tail` (zero when none) and the rest; None if unknown."""
    offset = _OFFSET.match(tail)
    if offset:
        hours, minutes = int(offset[2]), int(offset[3] or 0)
        if hours > 14 or minutes > 59:
            return None, tail
        sign = -1 if offset[1] in "-−" else 1
        return sign * timedelta(hours=hours, minutes=minutes), tail[offset.end() :]
    name = _ZONE_NAME.match(tail)
    if name is None or name[1] in _MONTHS:
        return timedelta(0), tail
    if name[1] in _NOT_ZONES:
        return timedelta(0), tail[name.end() :]
    minutes = _ZONE_MINUTES.get(name[1])
    if minutes is None:
        return None, tail
    return timedelta(minutes=minutes), tail[name.end() :]


def _day(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) from the text around the time, or None if not exactly one."""
    numeric = _YEAR_FIRST.search(text)
    if numeric:
        return int(numeric[1]), int(numeric[3]), int(numeric[4])
    numeric = _DOTTED_DAY_FIRST.search(text)
    if numeric:
        return int(numeric[3]), int(numeric[2]), int(numeric[1])
    words = _WORD_OR_NUMBER.findall(_LEADING_WEEKDAY.sub(" ", text))
    months = [(i, _MONTHS[word]) for i, word in enumerate(words) if word in _MONTHS]
    if len(months) == 2 and months[0][0] == 0:
        months = months[1:]  # "mar 18 sept": Spanish/French/Italian Tuesday, then the month
    numbers = [word for word in words if word.isdigit()]
    years = [int(n) for n in numbers if len(n) == 4]
    days = [int(n) for n in numbers if len(n) <= 2]
    if len(months) != 1 or len(years) != 1 or len(days) != 1 or len(numbers) != 2:
        return None
    return years[0], months[0][1], days[0]


def _fold(text: str) -> str:
    """Lowercase without accents, so "Déc" and "dec", "Март" and "март" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _month_table(names: Mapping[int, str]) -> dict[str, int]:
    return {_fold(name): month for month, spellings in names.items() for name in spellings.split()}


_DATE_TEXT_LIMIT = 100  # characters; a date is short, and regexes need not see more
# Per month: English, German, French, Spanish, Italian, Portuguese, Dutch, Russian;
# full names, Russian genitives ("18 сентября") and common abbreviations.
_MONTHS = _month_table(
    {
        1: "january jan januar jänner jän janvier janv enero ene gennaio gen janeiro januari "
        "январь января янв",
        2: "february feb februar février févr fév febrero febbraio fevereiro fev februari "
        "февраль февраля фев",
        3: "march mar märz mär mrz mars marzo março maart mrt март марта мар",
        4: "april apr avril avr abril abr aprile апрель апреля апр",
        5: "may mai mayo maggio mag maio mei май мая",
        6: "june jun juni juin junio giugno giu junho июнь июня июн",
        7: "july jul juli juillet juil julio luglio lug julho июль июля июл",
        8: "august aug août aout agosto ago augustus август августа авг",
        9: "september sep sept septembre septiembre setiembre set settembre setembro "
        "сентябрь сентября сен сент",
        10: "october oct oktober okt octobre octubre ottobre ott outubro out октябрь октября окт",
        11: "november nov novembre noviembre novembro ноябрь ноября ноя нояб",
        12: "december dec dezember dez décembre déc diciembre dic dicembre dezembro "
        "декабрь декабря дек",
    }
)
# Minutes east of UTC. CST is US Central, as in RFC 822 and feedparser (not China);
# IST (India, Ireland or Israel) is left out on purpose.
_ZONE_MINUTES = {
    **dict.fromkeys(("z", "ut", "utc", "gmt", "wet"), 0),
    **dict.fromkeys(("bst", "west", "cet", "met"), 60),
    **dict.fromkeys(("cest", "mest", "eet"), 120),
    **dict.fromkeys(("eest", "msk"), 180),
    "msd": 240,
    **dict.fromkeys(("hkt", "sgt", "awst"), 480),
    **dict.fromkeys(("jst", "kst"), 540),
    "acst": 570,
    "acdt": 630,
    "aest": 600,
    "aedt": 660,
    "nzst": 720,
    "nzdt": 780,
    "adt": -180,
    **dict.fromkeys(("ast", "edt"), -240),
    **dict.fromkeys(("est", "cdt"), -300),
    **dict.fromkeys(("cst", "mdt"), -360),
    **dict.fromkeys(("mst", "pdt"), -420),
    **dict.fromkeys(("pst", "akdt"), -480),
    "akst": -540,
    "hst": -600,
}
_NOT_ZONES = frozenset({"h", "uhr"})  # "04:22 Uhr": o'clock, not a zone
_CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(?![\d:])")
_MERIDIEM = re.compile(r"\s*([ap])\.?m\b\.?")
_OFFSET = re.compile(r"\s*(?:(?:gmt|utc|ut)\s*)?([+\-−])(\d{1,2})(?::?(\d{2}))?(?!\d)")
_ZONE_NAME = re.compile(r"\s*\(?([^\W\d_]{1,5})\)?(?![^\W\d_])")
_COMMENT = re.compile(r"\([^)]*\)")
_YEAR_FIRST = re.compile(r"(?<!\d)(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?!\d)")
_DOTTED_DAY_FIRST = re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)")
_LEADING_WEEKDAY = re.compile(r"^\s*[^\W\d_]+\.?\s*,")
_WORD_OR_NUMBER = re.compile(r"[^\W\d_]+|\d+")


def _strip_publication(title: str, publication: str) -> str:
    """Drop an aggregator's " - Publication" suffix from a title."""
    for separator in _SUFFIX_SEPARATORS:
        tail = len(separator) + len(publication)
        if len(title) > tail and title[-tail:].casefold() == (separator + publication).casefold():
            return title[:-tail].rstrip()
    return title


def _clean_field(record: Mapping[str, Any], key: str) -> str:
    """A text field of a feedparser record as plain text ("" when absent)."""
    raw = dict.get(record, key)
    if not raw:
        return ""
    return _clean_text(raw, _is_html(dict.get(record, key + "_detail")))


def _is_html(detail: Mapping[str, Any] | None) -> bool:
    """Whether feedparser typed a text field as HTML (its default when unsure)."""
    return detail is None or dict.get(detail, "type") != "text/plain"


def clean_title(raw: str, *, html: bool = True) -> str:
    """A feed's title or text as one line of plain text.

    With `html` (the default), tags are removed first; then entities are decoded once,
    control characters dropped and whitespace collapsed.
    """
    return _clean_text(raw, html)


def _clean_text(raw: str, is_html: bool) -> str:
    text = raw
    if is_html and "<" in text:
        text = _SCRIPT.sub(" ", text)
        text = _BLOCK_TAG.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = _ENTITY.sub(_decode_entity, text)
    if not text.isascii() or not text.isprintable():
        text = _CONTROL.sub("", text)
    return " ".join(text.split())


def _decode_entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name is not None:
        # Exact lookup: html.unescape would also read "&ampfoo;" as "&foo;".
        return html.entities.html5.get(name + ";", match.group(0))
    # Numeric: html.unescape maps &#150; to "–" as browsers do, and bad numbers to U+FFFD.
    return html.unescape(match.group(0))


def safe_link(raw: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) URL, or None for anything else (javascript:, data:, ...)."""
    if not raw:
        return None
    link = raw.strip()
    if not link or _LINK_CONTROL.search(link):
        return None
    link = link.replace(" ", "%20")
    if base and not _HAS_SCHEME.match(link):
        try:
            link = urljoin(base, link)
        except ValueError:
            return None
    # Scheme http or https and a non-empty host: what urlsplit would say, at regex speed.
    return link if _HTTP_URL.match(link) else None


def detect_encoding(body: bytes, content_type: str | None) -> str:
    """The encoding to read a feed's bytes with, as a Python codec name.

    A BOM wins, then the header's charset, then the XML declaration, then UTF-8 if the
    bytes are valid UTF-8, then detection (see the module docstring).
    """
    return _decode(body, content_type)[1]


def _decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The text of the bytes and the encoding chosen, per `detect_encoding`'s rule."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, "replace"), encoding
    sniffed = _sniff_wide(body)
    if sniffed:
        return body.decode(sniffed, "replace"), sniffed

    utf8: str | None = None
    with contextlib.suppress(UnicodeDecodeError):
        utf8 = body.decode("utf-8")
    for declared in (_header_charset(content_type), _declared_encoding(body)):
        encoding = _codec(declared)
        if encoding is None:
            continue
        if encoding == "utf-8":
            if utf8 is not None:
                return utf8, "utf-8"
            continue  # a wrong label: try the next clue
        if utf8 is not None and not body.isascii() and _is_single_byte(encoding):
            return utf8, "utf-8"
        try:
            return body.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    if utf8 is not None:
        return utf8, "utf-8"
    encoding = _guess_encoding(body)
    return body.decode(encoding, "replace"), encoding


def _sniff_wide(body: bytes) -> str | None:
    """UTF-16/32 without a BOM, known by how the first `<` is spelled."""
    if body.startswith(b"\x00\x00\x00<"):
        return "utf-32-be"
    if body.startswith(b"<\x00\x00\x00"):
        return "utf-32-le"
    if body.startswith(b"\x00<\x00"):
        return "utf-16-be"
    if body.startswith(b"<\x00") and body[3:4] == b"\x00":
        return "utf-16-le"
    return None


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _declared_encoding(body: bytes) -> str | None:
    match = _XML_ENCODING.match(body[:256].lstrip())
    return match.group(1).decode("ascii") if match else None


@functools.lru_cache(maxsize=64)
def _codec(name: str | None) -> str | None:
    """A declared charset as a usable codec name; None if unknown or not ASCII-based."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    codec = _SUPERSETS.get(codec, codec)
    # Without a BOM the document started in ASCII; a declared UTF-16 or EBCDIC is wrong.
    if b"<?xml".decode(codec, "replace") != "<?xml":
        return None
    return codec


@functools.lru_cache(maxsize=64)
def _is_single_byte(codec: str) -> bool:
    return len(bytes(range(256)).decode(codec, "replace")) == 256


def _guess_encoding(body: bytes) -> str:
    """The most plausible encoding for undeclared bytes that are not UTF-8."""
    sample = _sample(body)
    names = list(_CANDIDATES)
    try:
        best = from_bytes(sample).best()
    except Exception:  # detection is a hint; never let it fail the feed
        best = None
    if best is not None:
        guess = _codec(best.encoding)
        if guess and guess != "utf-8" and guess not in names:
            names.append(guess)
    chosen, top = "cp1252", float("-inf")
    for name in names:
        try:
            text = sample.decode(name)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text, name) - _PRIOR_PENALTY.get(name, 0.0)
        if score > top:
            chosen, top = name, score
    return chosen


def _sample(body: bytes) -> bytes:
    """Up to 12 KB from the first non-ASCII byte's tag on, cut before a `<`.

    `<` can't be part of a multi-byte character in any candidate, so cuts there are safe.
    """
    first = _NON_ASCII_BYTE.search(body)
    if first is None:
        return body[:_SAMPLE_SIZE]
    start = max(body.rfind(b"<", 0, first.start()), 0)
    end = start + _SAMPLE_SIZE
    if end < len(body):
        cut = body.rfind(b"<", first.start(), end)
        end = cut if cut > first.start() else end
    return body[start:end]


def _plausibility(text: str, codec: str) -> float:
    """How much the non-ASCII characters of a decoding look like real text, per character.

    Letters score 1; symbols, controls and private-use characters score below 0. Signs of
    a wrong decoding count against it: accented Latin letters in runs of 3 or more
    (Cyrillic or CJK read as windows-1252), a non-Latin letter glued to an ASCII letter,
    lowercase then uppercase inside a Cyrillic word and long all-caps Cyrillic words
    (what windows-1251 and KOI8-R make of each other), rare Han characters (only GB2312
    level 1, frequent Big5 and JIS level 1 score full) and half-width katakana (Cyrillic
    read as Shift-JIS). The ten most frequent Russian letters get a small bonus.
    """
    total = 0.0
    count = 0
    for match in _NON_ASCII_RUN.finditer(text):
        run = match.group()
        start, end = match.span()
        # A letter right before or after the run (ASCII, as runs are maximal).
        glued = (start > 0 and text[start - 1].isalpha()) or (
            end < len(text) and text[end].isalpha()
        )
        long_word = len(run) >= 5
        previous = ""
        for char in run:
            count += 1
            point = ord(char)
            if 0x0400 <= point <= 0x04FF:
                if glued or (previous.islower() and char.isupper()):
                    total -= 1
                elif long_word and previous.isupper() and char.isupper():
                    pass  # long all-caps words are rare; lowercase read as KOI8-R gives them
                else:
                    total += 1.25 if char.lower() in _RU_FREQUENT else 1
                previous = char
                continue
            previous = ""
            if 0x4E00 <= point <= 0x9FFF or 0x3400 <= point <= 0x4DBF:
                total += _han_score(char, codec)
            elif 0x3040 <= point <= 0x30FF:
                total += 1 if codec in ("shift_jis", "euc_jp", "cp932") else 0
            elif 0xFF61 <= point <= 0xFF9F:
                total -= 1  # half-width katakana: what Cyrillic looks like in Shift-JIS
            elif 0xC0 <= point <= 0x24F and point not in (0xD7, 0xF7):
                total += 1 if len(run) <= 2 else -1
            else:
                category = unicodedata.category(char)
                if category[0] == "L":
                    total += -1 if glued else 1
                elif category[0] in "SN":
                    total -= 1
                elif category[0] == "C":
                    total -= 2
    return total / count if count else 0.0


def _han_score(char: str, codec: str) -> float:
    """1 for a common Han character in the codec's own ranking, 0.5 less common, else 0."""
    ranking = _HAN_RANKING.get(codec)
    if ranking is None:
        return 0.5
    native, first, common_end, rare_end = ranking
    try:
        lead = char.encode(native)[0]
    except UnicodeEncodeError:
        return 0.0
    if first <= lead <= common_end:
        return 1.0
    return 0.5 if lead <= rare_end else 0.0


def _with_utf8_declaration(text: str) -> str:
    """The document with an XML declaration that says utf-8."""
    match = _XML_DECLARATION.match(text)
    if match:
        return _UTF8_DECLARATION + text[match.end() :]
    return _UTF8_DECLARATION + text


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
        preview = " ".join(_CONTROL.sub("", text[start : start + 40]).split())
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
