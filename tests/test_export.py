"""Exports: CSV that spreadsheets cannot run, and RSS that lib.parse reads back as it was."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lib.export import to_csv, to_json, to_json_feed, to_rss, xml_text
from lib.model import Headline, TimeKind
from lib.parse import parse_feed
from lib.parse.text import CONTROL
from lib.stories import Story

NOW = datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
FEED = "https://feeds.example.com/world?a=1&b=2"


def make(title: str, n: int = 0, **kw: object) -> Headline:
    fields: dict[str, object] = {
        "link": f"https://example.com/{n}?x=1&y=2",
        "publication": "The Paper",
        "label": None,
        "published": NOW - timedelta(hours=n + 1, minutes=7),
        "source": FEED,
        "guid": f"urn:guid:{n}",
    }
    fields.update(kw)
    return Headline(title=title, **fields)  # type: ignore[arg-type]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- CSV and JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "cell"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1 for peace", "'+1 for peace"),
        ("-5 dead in storm", "'-5 dead in storm"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("Plain = fine", "Plain = fine"),
        ("", ""),
    ],
)
def test_csv_cells_that_start_a_formula_are_text(title: str, cell: str) -> None:
    (row,) = rows(to_csv([make(title, publication="=cmd|' /C calc'!A0")]))
    assert row["title"] == cell
    assert row["publication"] == "'=cmd|' /C calc'!A0"
    assert row["link"] == "https://example.com/0?x=1&y=2"


def test_csv_keeps_its_header_and_empty_cells() -> None:
    text = to_csv([make("Title", link=None, time_kind=TimeKind.SEEN)])
    assert text.splitlines()[0] == "title,link,publication,label,published"
    (row,) = rows(text)
    assert row == {
        "title": "Title",
        "link": "",
        "publication": "The Paper",
        "label": "",
        "published": "",
    }


def test_json_is_unchanged_by_the_csv_rule() -> None:
    assert '"title": "=1+1"' in to_json([make("=1+1")])


# --- RSS -----------------------------------------------------------------------------------


def parse_back(body: bytes) -> list[Headline]:
    return list(parse_feed(body, url="https://news.example/feed.xml", seen_at=NOW).headlines)


TITLES = [
    "Tom & Jerry",
    "A < B > C",
    "He said \"hi\" & 'bye'",
    "<b>bold</b> and </i>",
    "AT&amp;T written with its entity",
    "&lt;script&gt; as text",
    "<script>alert(1)</script>",
    "&#169; &copy; &bogus; x &foo y",
    "Costs $5 to $10, *not* [a](b) :red[x]",
    "Sánchez meets 习近平 in Москва 🎉",
]


def test_rss_round_trip_through_the_parser() -> None:
    items = [
        make(title, n, publication=pub)
        for n, (title, pub) in enumerate(
            zip(TITLES, ["Reuters & Co <x>", "Agence “France”", "&amp; Sons"] * 4, strict=False)
        )
    ]
    body = to_rss(
        items,
        title="China & <Russia>",
        link="https://news.example/?q=a&b",
        description="D",
        now=NOW,
    )
    back = parse_back(body)
    assert [h.title for h in back] == TITLES
    assert [h.link for h in back] == [h.link for h in items]
    assert [h.publication for h in back] == [h.publication for h in items]
    assert [h.published for h in back] == [h.published for h in items]
    assert [h.guid for h in back] == [h.guid for h in items]
    assert all(h.time_kind is TimeKind.PUBLISHED for h in back)
    assert parse_feed(body, url="https://x.example/", seen_at=NOW).feed_title == "China & <Russia>"


def test_rss_drops_characters_xml_forbids() -> None:
    title = "Bad\x00 chars\x07\x1b here\ufffe\ud800 and\x0b more"
    body = to_rss([make(title)], title="T\x01", link="https://n.example/", description="", now=NOW)
    ET.fromstring(body)  # well-formed
    (back,) = parse_back(body)
    assert back.title == "Bad chars here and more"


def test_rss_channel_and_item_elements() -> None:
    items = [
        make("One", 0, summary="A <b>summary</b> & more"),
        make("Two", 1, link="javascript:alert(1)", time_kind=TimeKind.SEEN),
        make("Three", 2, source="file:///etc/passwd"),
    ]
    body = to_rss(items, title="Topic", link="https://n.example/t", description="About", now=NOW)
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    channel = ET.fromstring(body).find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Topic"
    assert channel.findtext("link") == "https://n.example/t"
    assert channel.findtext("description") == "About"
    assert channel.findtext("lastBuildDate") == "Wed, 18 Sep 2024 03:22:00 GMT"
    one, two, three = channel.findall("item")
    assert one.findtext("pubDate") == "Wed, 18 Sep 2024 02:15:00 GMT"
    guid = one.find("guid")
    assert guid is not None and guid.get("isPermaLink") == "false" and guid.text == "urn:guid:0"
    source = one.find("source")
    assert source is not None and source.get("url") == FEED and source.text == "The Paper"
    assert two.find("link") is None  # only http/https links
    assert two.find("pubDate") is None  # no date from the feed: none invented
    assert three.find("source") is None  # no http(s) feed URL to name
    back = parse_back(body)
    assert back[0].summary == "A <b>summary</b> & more"
    assert back[1].link is None and back[1].time_kind is TimeKind.SEEN


def test_rss_of_nothing_is_an_empty_channel() -> None:
    body = to_rss([], title="Empty", link="javascript:x", description="", now=NOW)
    channel = ET.fromstring(body).find("channel")
    assert channel is not None and channel.findall("item") == []
    assert channel.findtext("link") == ""


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)


def redecoded_by_feedparser(text: str) -> bool:
    """feedparser reads Latin-1 text that is also valid UTF-8 bytes as UTF-8 ("Â¡" → "¡"):
    its own repair of double-encoded feeds, which no writer can avoid. It repairs the
    element's text after stripping it, so "Â¡\xa0" comes back as "¡" too."""
    text = text.strip()
    try:
        return text.encode("latin-1").decode("utf-8") != text
    except UnicodeError:
        return False


@settings(max_examples=150, deadline=None)
@given(title=_TEXT, publication=_TEXT)
def test_rss_any_text_is_well_formed_and_reads_back(title: str, publication: str) -> None:
    assume(not redecoded_by_feedparser(xml_text(title)))
    assume(not redecoded_by_feedparser(xml_text(publication)))
    body = to_rss(
        [make(title, publication=publication)],
        title=title,
        link="https://n.example/",
        description=title,
        now=NOW,
    )
    ET.fromstring(body)
    back = parse_back(body)
    # What comes back is what was written, less the controls XML and the parser drop.
    expected = " ".join(CONTROL.sub("", xml_text(title)).split())
    assert [h.title for h in back] == ([expected] if expected else [])
    named = " ".join(CONTROL.sub("", xml_text(publication)).split())
    if back and named:
        assert back[0].publication == named


# --- stories and JSON Feed ---------------------------------------------------------------


def test_a_story_is_one_rss_item_with_its_other_reports() -> None:
    lead = make("Deal <signed>", 2, summary="The deal & more")
    other = make("Deal signed too", 1, publication="Wire <b>", link="javascript:x")
    body = to_rss(
        [Story(lead, (other,)), make("Alone", 0)],
        title="T",
        link="https://n.example/",
        description="",
        now=NOW,
        feed_url="https://n.example/feed.rss?q=a&b=c",
    )
    channel = ET.fromstring(body).find("channel")
    assert channel is not None
    own = channel.find("{http://www.w3.org/2005/Atom}link")
    assert own is not None and own.get("href") == "https://n.example/feed.rss?q=a&b=c"
    first, second = channel.findall("item")
    assert first.findtext("guid") == "urn:guid:2"
    description = first.findtext("description") or ""
    assert description.startswith("<p>The deal & more</p><p>Also reported:</p>")
    assert "<li>Deal signed too (Wire &lt;b&gt;)</li>" in description  # no javascript: link
    assert second.findtext("description") is None
    assert [h.title for h in parse_back(body)] == ["Deal <signed>", "Alone"]


def test_json_feed_holds_plain_text_and_no_markup() -> None:
    items = [
        Story(make("<script>x</script> & $5 **b**", 1, summary="<img src=x>"),
              (make("Copy", 0, publication="B & <C>"),)),
        make("No date", 2, time_kind=TimeKind.SEEN, link="data:text/html,x"),
    ]  # fmt: skip
    body = to_json_feed(
        items, title="T <x>", link="https://n.example/?q=1", description="D",
        feed_url="https://n.example/feed.json?q=1",
    )  # fmt: skip
    assert b"<" not in body and b">" not in body and b"&" not in body
    document = json.loads(body)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == "T <x>"
    assert document["feed_url"] == "https://n.example/feed.json?q=1"
    first, second = document["items"]
    assert first == {
        "id": "urn:guid:1",
        "title": "<script>x</script> & $5 **b**",
        "content_text": "<img src=x>\n\nAlso reported:\n- Copy (B & <C>)",
        "url": "https://example.com/1?x=1&y=2",
        "date_published": "2024-09-18T01:15:00Z",
        "authors": [{"name": "The Paper"}],
    }
    assert "url" not in second and "date_published" not in second
    assert second["content_text"] == "No date"
