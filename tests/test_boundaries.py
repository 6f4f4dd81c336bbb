"""Property tests where values from outside enter: feed dates, link parameters, Retry-After,
cookies.

Whatever a feed, a link or a browser sends, reading it never raises, and what comes out is
None or a value the rest of the page can use (an aware UTC time in the calendar, a range
inside the chart's window, each bad parameter reported once).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from lib.density import density
from lib.fetch import _retry_after  # where the header enters
from lib.model import TimeKind
from lib.parse import parse_feed, read_date
from lib.refresh import MAX_RETRY_AFTER, retry_time
from lib.times import WINDOW, read_iso_time, usable
from ui.keys import END, START
from ui.links import link_range, link_values
from ui.visits import last_visit_from_cookie

SEEN = datetime(2024, 9, 18, 4, 22, tzinfo=UTC)
EARLIEST_TRUSTED = datetime(1990, 1, 1, tzinfo=UTC)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ZONES = (UTC, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago"))
FEW = settings(max_examples=60, deadline=None)

# Any instant of the calendar and any offset a date can be written with, drawn often from
# the last and first days of the calendar and the largest offsets, where overflows live.
local_times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.datetimes(min_value=datetime(9999, 12, 30), max_value=datetime(9999, 12, 31, 23, 59)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(1, 1, 2)),
)
offsets = st.one_of(
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
    st.sampled_from([-(23 * 60 + 59), -14 * 60, -12 * 60, 12 * 60, 14 * 60, 23 * 60 + 59]),
)


def offset_text(minutes: int, colon: bool) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{rest:02d}"


@st.composite
def written_dates(draw: st.DrawFn) -> tuple[str, datetime, int]:
    """A date as feeds write it (RFC 822, ISO 8601, day-month-year), with what it means."""
    moment, minutes = draw(local_times).replace(microsecond=0), draw(offsets)
    form = draw(st.sampled_from(("rfc822", "iso", "words")))
    year = f"{moment.year:04d}"
    clock = f"{moment:%H:%M:%S}"
    month = MONTHS[moment.month - 1]
    if form == "rfc822":
        text = f"Mon, {moment.day:02d} {month} {year} {clock} {offset_text(minutes, False)}"
    elif form == "iso":
        text = f"{year}-{moment:%m-%d}T{clock}{offset_text(minutes, True)}"
    else:
        text = f"{moment.day} {month} {year} {clock} GMT{offset_text(minutes, True)}"
    return text, moment, minutes


def is_utc(moment: object) -> bool:
    return isinstance(moment, datetime) and moment.tzinfo is UTC


@FEW
@given(written_dates())
def test_read_date_at_the_calendar_ends(case: tuple[str, datetime, int]) -> None:
    text, moment, minutes = case
    read = read_date(text)
    assert read is None or is_utc(read)
    if read is not None:  # what was read is what was written
        assert read == moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    elif abs(minutes) <= 14 * 60:
        # An offset read_date takes: only a UTC time outside the calendar is declined.
        try:
            moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).astimezone(UTC)
        except OverflowError:
            return
        raise AssertionError(f"{text!r} was not read")


@FEW
@given(st.text(max_size=120))
def test_read_date_never_raises_for_any_text(text: str) -> None:
    read = read_date(text)
    assert read is None or is_utc(read)


@FEW
@given(st.lists(written_dates(), min_size=1, max_size=4), st.text(max_size=40))
def test_a_feeds_dates_never_stop_it(cases: list[tuple[str, datetime, int]], junk: str) -> None:
    dates = [text for text, _, _ in cases] + [junk]
    items = "".join(
        f"<item><title>Item {n}</title><link>https://dates.test/{n}</link>"
        f"<pubDate>{date}</pubDate><dc:date>{date}</dc:date></item>"
        for n, date in enumerate(d.replace("&", "&amp;").replace("<", "&lt;") for d in dates)
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Dates</title>'
        f"{items}</channel></rss>"
    ).encode("utf-8", "surrogatepass")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return  # a lone surrogate in the junk text: not bytes a server can send
    parsed = parse_feed(body, url="https://dates.test/feed.xml", seen_at=SEEN)
    assert len(parsed.headlines) == len(dates)
    for headline in parsed.headlines:
        assert is_utc(headline.published)
        if headline.time_kind is TimeKind.SEEN:
            assert headline.published == SEEN
        else:
            assert EARLIEST_TRUSTED <= headline.published <= SEEN + timedelta(minutes=10)


# --- links ------------------------------------------------------------------------------------

link_text = st.text(max_size=30) | st.sampled_from(
    ["", " ", "utc", "topic", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
)
raw_links = st.dictionaries(
    st.sampled_from(["q", "tz", "pubs", "from", "to", "zzz"]) | st.text(max_size=8),
    st.lists(link_text, min_size=1, max_size=4),
    max_size=5,
)


@FEW
@given(raw_links, st.booleans())
def test_link_values_never_raise_and_report_each_bad_value_once(raw, many: bool) -> None:
    for key, valid in (("tz", ("utc", "topic")), ("q", None)):
        good, notices = link_values(raw, key, valid, "Setting", many=many)
        assert len(notices) == len(set(notices))
        assert all(valid is None or value in valid for value in good)
        if not many:
            assert len(good) <= 1 and len(notices) <= 1
        given_values = set(raw.get(key, ()))
        bad = {value for value in given_values if valid is not None and value not in valid}
        if many:
            assert len(notices) == len(bad)


iso_at_the_ends = st.builds(
    lambda moment, minutes: moment.isoformat() + offset_text(minutes, True), local_times, offsets
)
range_values = st.lists(iso_at_the_ends | link_text, min_size=1, max_size=2)


@FEW
@given(
    st.fixed_dictionaries({}, optional={START: range_values, END: range_values}),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 12, 31)),
    st.sampled_from(ZONES),
)
def test_link_range_never_raises_and_stays_in_the_window(raw, now_naive, zone) -> None:
    now = now_naive.replace(tzinfo=UTC)
    chosen, notices = link_range(raw, now, zone)
    assert len(notices) <= 1
    if chosen is None:
        assert bool(notices) == bool(raw)
        return
    slots = density([], now, zone, WINDOW)
    start, end = chosen
    assert slots[0].start <= start < end <= slots[-1].end


# --- HTTP headers -----------------------------------------------------------------------------

http_dates = st.from_regex(
    r"(Mon, )?[0-9]{1,3} (Jan|Dec) [0-9]{1,25} [0-9]{1,22}:[0-9]{1,22}(:[0-9]{1,22})?"
    r" ?([+-][0-9]{1,6}|GMT|EST)?",
    fullmatch=True,
)


@FEW
@given(http_dates | st.text(max_size=40) | st.from_regex(r"[0-9]{1,500}", fullmatch=True),
       http_dates | st.none())  # fmt: skip
def test_retry_after_never_raises_and_stays_capped(value: str, server_date: str | None) -> None:
    wait = _retry_after(value, server_date)
    assert wait is None or wait >= 0
    when = retry_time(1, 429, wait, SEEN)
    assert when is None or SEEN <= when <= SEEN + MAX_RETRY_AFTER


# --- cookies ----------------------------------------------------------------------------------


@FEW
@given(st.text(max_size=80) | iso_at_the_ends | st.none() | st.integers() | st.binary())
def test_a_last_visit_cookie_never_raises(raw: object) -> None:
    visit = last_visit_from_cookie(raw)
    assert visit is None or (is_utc(visit) and usable(visit))
    moment = read_iso_time(raw)
    assert moment is None or is_utc(moment)
