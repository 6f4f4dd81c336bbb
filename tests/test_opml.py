"""lib/opml.py: reading subscription lists safely, and writing ones that read back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.errors import ParseError
from lib.opml import MAX_OPML_BYTES, check_size, parse_opml, to_opml

DATA = Path(__file__).parent / "data"


def test_every_outline_with_an_xml_url_nested_ones_included() -> None:
    assert parse_opml((DATA / "opml_nested.opml").read_bytes()) == [
        ("Top level", "https://top.test/rss"),
        ("Reuters World", "https://reuters.test/world"),  # text wins over title
        ("Only a title", "https://asia.test/feed.xml"),
        ("Spaced out", "https://spaced.test/rss"),
        ("https://untitled.test/atom", "https://untitled.test/atom"),  # no name: the URL
        ("Lower-case attribute", "https://lower.test/rss"),
        ('AT&T <news> "daily" — Новости', "https://att.test/?a=1&b=2"),
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "the file is empty"),
        (b"  \n", "the file is empty"),
        (b"<opml><body><outline", "not valid XML at line 1: unclosed token"),
        (b"<opml>\n<body></opml>", "not valid XML at line 2: mismatched tag"),
        (b'{"feeds": []}', "not valid XML at line 1: not well-formed (invalid token)"),
        (b'<rss version="2.0"/>', "not an OPML file: the root element is <rss>, not <opml>"),
        (
            (DATA / "opml_billion_laughs.opml").read_bytes(),
            "the file has a DOCTYPE, which OPML files do not need — remove it and try again",
        ),
        (
            (DATA / "opml_external_entity.opml").read_bytes(),
            "the file has a DOCTYPE, which OPML files do not need — remove it and try again",
        ),
        (
            b'<!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml/>',
            "the file has a DOCTYPE, which OPML files do not need — remove it and try again",
        ),
    ],
)
def test_malformed_or_hostile_files_raise(data: bytes, problem: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_opml(data)
    assert caught.value.problem == problem


def _big_opml(count: int, tail: str = "</body></opml>") -> bytes:
    """A generated subscription list of `count` feeds, as a feed reader exports one."""
    body = "".join(
        f'<outline type="rss" text="Feed {n}" xmlUrl="https://feeds.test/{n}.xml"/>'
        for n in range(count)
    )
    return f'<opml version="2.0"><body>{body}{tail}'.encode()


def test_a_file_over_the_size_cap_is_refused_before_it_is_read() -> None:
    big = _big_opml(20_000)  # about 1.4 MB, like the file that wrote 21,893 captions
    assert len(big) > MAX_OPML_BYTES
    with pytest.raises(ParseError) as caught:
        parse_opml(big)
    assert caught.value.problem == "the file is over 1 MB — import a shorter list"
    with pytest.raises(ParseError):
        check_size(len(big))  # what the page asks before it reads an upload's bytes
    check_size(MAX_OPML_BYTES)  # at the cap: allowed
    # Garbage just under the cap is read, and reported as garbage rather than as too big.
    with pytest.raises(ParseError, match="not valid XML"):
        parse_opml(b"x" * MAX_OPML_BYTES)


def test_reading_stops_at_the_limit() -> None:
    data = _big_opml(5_000)
    feeds = parse_opml(data, limit=6)
    assert feeds == [(f"Feed {n}", f"https://feeds.test/{n}.xml") for n in range(6)]
    assert len(parse_opml(data)) == 5_000
    # What comes after the limit is not read at all: a broken end goes unnoticed.
    broken = _big_opml(3, tail="<outline")
    assert len(parse_opml(broken, limit=3)) == 3
    with pytest.raises(ParseError, match="not valid XML"):
        parse_opml(broken, limit=4)


def test_the_root_is_checked_when_reading_stops_early() -> None:
    data = b'<rss><outline xmlUrl="https://feeds.test/a"/><outline xmlUrl="b"/></rss>'
    with pytest.raises(ParseError, match="not an OPML file"):
        parse_opml(data, limit=1)


def test_an_opml_without_feeds_is_an_empty_list() -> None:
    assert parse_opml(b'<opml version="2.0"><head/><body/></opml>') == []


def test_to_opml_writes_opml_2() -> None:
    text = to_opml("China & Russia", [("Reuters", "https://reuters.test/world?a=1&b=2")])
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode())
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == "China & Russia"
    [outline] = root.iter("outline")
    assert outline.attrib == {
        "type": "rss",
        "text": "Reuters",
        "title": "Reuters",
        "xmlUrl": "https://reuters.test/world?a=1&b=2",
    }


def test_to_opml_drops_characters_xml_cannot_hold() -> None:
    text = to_opml("T\x00", [("Bell\x07 tab\there", "https://x.test/\x1b")])
    assert parse_opml(text.encode()) == [("Bell tab here", "https://x.test/")]


# Names as a page shows them: on one line, no leading or trailing space.
names = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=40,
    )
    .map(lambda name: " ".join(name.split()))
    .filter(bool)
)
urls = st.builds(
    lambda path: f"https://feeds.test/{path}",
    st.text(st.sampled_from("ab&<>\"'=?/ü%#é1"), max_size=20),
)


@given(
    title=st.text(max_size=30),
    feeds=st.lists(
        st.tuples(names | st.sampled_from(["A & B", '<b>"quoted"</b>', "Ⓡ 新闻"]), urls)
    ),
)
def test_round_trip(title: str, feeds: list[tuple[str, str]]) -> None:
    assert parse_opml(to_opml(title, feeds).encode("utf-8")) == feeds
