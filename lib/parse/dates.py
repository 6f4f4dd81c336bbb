"""When a feed item was published: its date text read as a UTC time, or the time it was seen.

Date rule (`read_date`): feedparser reads neither month names in other languages nor
`2024/09/18` (it makes that 1 November), and it takes unknown zone names such as CEST for
UTC. So each item's raw date is read by `read_date` first, and feedparser's reading is
used only when `read_date` declines. Dates more than 10 minutes ahead of the fetch, before
1990 or unreadable are not trusted: such items are placed at the time they were seen.

A date given as HTML (`<time datetime="2019-05-03T19:21:28Z">May 3</time>`, as some
government feeds send it) is read from the `datetime` attribute: that is the
machine-readable time the page itself would use.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from lib.model import TimeKind

_EARLIEST = calendar.timegm((1990, 1, 1, 0, 0, 0))  # older dates are placeholders or errors
_FUTURE_SLACK = 600  # seconds a date may lie ahead of seen_at (clock skew) and be trusted
# (raw string, feedparser's reading, what it is)
_DATE_KEYS = (
    ("published", "published_parsed", TimeKind.PUBLISHED),
    ("updated", "updated_parsed", TimeKind.UPDATED),
)


def entry_time(
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
        read = read_date(_machine_time(raw) if "<" in raw else raw)
        if read is not None:
            return read.timestamp()
    if parsed is None:
        return None
    try:
        # feedparser's struct_time is UTC: timegm, never mktime (local time).
        return calendar.timegm(parsed)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _machine_time(raw: str) -> str:
    """The `datetime` of a `<time>` element in a date given as HTML, else the text as it is."""
    element = _TIME_ELEMENT.search(raw, 0, _HTML_DATE_LIMIT)
    return element[1] if element else raw


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


# A date given as HTML: `<time datetime="2019-05-03T19:21:28Z" class="...">May 3</time>`.
_TIME_ELEMENT = re.compile(r"<time\b[^<>]*?\sdatetime\s*=\s*[\"']([^\"'<>]{1,64})[\"']", re.I)
_HTML_DATE_LIMIT = 1000  # characters of an HTML date looked at for its <time> element
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
